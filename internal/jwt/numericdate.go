package jwt

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// maxNumericDate is 9999-12-31T23:59:59Z: later dates are not plausible
// and would overflow time arithmetic.
const maxNumericDate = 253402300799

// NumericDate is a JWT NumericDate (seconds since the epoch, possibly
// fractional).
type NumericDate struct {
	Sec float64 // seconds since the epoch
	Set bool    // the claim was present
}

// Nanos is d in Unix nanoseconds, saturated at math.MaxInt64 (year 2262):
// a float64 beyond int64's range has no defined conversion.
func (d NumericDate) Nanos() int64 {
	if ns := d.Sec * 1e9; ns < math.MaxInt64 {
		return int64(ns)
	}
	return math.MaxInt64
}

// Time is d as a time.Time in UTC.
func (d NumericDate) Time() time.Time {
	s, frac := math.Modf(d.Sec)
	return time.Unix(int64(s), int64(frac*1e9)).UTC()
}

// ParseNumericDate reads a JSON number in [0, year 9999]. Strings, null,
// NaN, negatives and huge values are errors.
func ParseNumericDate(raw json.RawMessage) (NumericDate, error) {
	c := FirstByte(raw)
	if c != '-' && (c < '0' || c > '9') {
		return NumericDate{}, fmt.Errorf("not a JSON number (%s)", Kind(raw))
	}
	if len(raw) > 64 {
		return NumericDate{}, fmt.Errorf("number of %d bytes", len(raw))
	}
	f, ok := smallInteger(raw)
	if !ok {
		var err error
		f, err = strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return NumericDate{}, fmt.Errorf("bad number %.32q", raw)
		}
	}
	if f < 0 || f > maxNumericDate {
		return NumericDate{}, fmt.Errorf("%.0f is out of range", f)
	}
	return NumericDate{Sec: f, Set: true}, nil
}

// smallInteger reads raw when it is a JSON integer of at most 15 digits
// without sign or leading zero, the common spelling of a NumericDate:
// every such integer is exact in a float64, and strconv.ParseFloat gives
// the same value. Anything else is left to ParseFloat.
func smallInteger(raw []byte) (float64, bool) {
	if len(raw) == 0 || len(raw) > 15 || (raw[0] == '0' && len(raw) > 1) {
		return 0, false
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return float64(n), true
}
