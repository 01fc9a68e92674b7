//go:build race

package issuer_test

const raceEnabled = true
