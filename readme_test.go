package tenantjwt_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// snippetMarker precedes each Go block of README.md: the block is the
// region of a compiled file between "README:begin NAME" and
// "README:end NAME" (dedented).
var snippetMarker = regexp.MustCompile(`^<!-- snippet: (\S+) (\S+) -->$`)

// TestReadmeSnippetsCompile: every Go block in README.md is an excerpt of
// a file that is compiled and tested, so the README shows code that builds.
func TestReadmeSnippetsCompile(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	blocks := 0
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		blocks++
		start := i + 1
		end := start
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		block := strings.Join(lines[start:end], "\n")
		i = end
		var m []string
		if start >= 2 {
			m = snippetMarker.FindStringSubmatch(strings.TrimSpace(lines[start-2]))
		}
		if m == nil {
			t.Errorf("README.md:%d: a Go block without a <!-- snippet: FILE NAME --> line before it", start)
			continue
		}
		want, err := excerpt(m[1], m[2])
		if err != nil {
			t.Errorf("README.md:%d: %v", start, err)
			continue
		}
		if strings.TrimSpace(block) != strings.TrimSpace(want) {
			t.Errorf("README.md:%d differs from %s (%s); the README block is\n%s\n\nthe compiled code is\n%s", start, m[1], m[2], block, want)
		}
	}
	if blocks == 0 {
		t.Error("README.md has no Go blocks: the test reads the wrong file")
	}
}

// excerpt returns the lines of path between the begin and end markers of
// name, with the indentation they share removed.
func excerpt(path, name string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var region []string
	in, found := false, false
	for _, line := range strings.Split(string(data), "\n") {
		switch strings.TrimSpace(line) {
		case "// README:begin " + name:
			in, found = true, true
			continue
		case "// README:end " + name:
			in = false
		}
		if in {
			region = append(region, line)
		}
	}
	if !found || in {
		return "", fmt.Errorf("%s: no README:begin/end %s region", path, name)
	}
	indent := -1
	for _, l := range region {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range region {
		if len(l) >= indent && indent > 0 {
			region[i] = l[indent:]
		}
	}
	return strings.Join(region, "\n"), nil
}
