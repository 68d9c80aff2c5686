package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// checkFloats reports every float key under v (a section, a site's
// options, a list of tables) that is not a finite number or lies outside
// the interval of its `range` tag, e.g. range:"(0,10000]" (parentheses
// exclude the bound, brackets include it). key is v's dotted name.
func checkFloats(v reflect.Value, key string, bad func(key, format string, a ...any)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			checkFloats(v.Elem(), key, bad)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			checkFloats(v.Index(i), fmt.Sprintf("%s[%d]", key, i), bad)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := tomlName(f)
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			fk := key + "." + name
			fv := v.Field(i)
			if fv.Kind() != reflect.Float64 && fv.Kind() != reflect.Float32 {
				checkFloats(fv, fk, bad)
				continue
			}
			x := fv.Float()
			if math.IsNaN(x) || math.IsInf(x, 0) {
				bad(fk, "must be a finite number, got %v", x)
				continue
			}
			r, err := parseRange(f.Tag.Get("range"))
			if err != nil {
				bad(fk, "%v", err) // a declaration error, caught by the tests
				continue
			}
			if !r.contains(x) {
				bad(fk, "must be %s, got %v", r, x)
			}
		}
	}
}

// interval is a range tag parsed.
type interval struct {
	lo, hi       float64
	loIn, hiIn   bool // bound included
	text         string
	unrestricted bool // no tag: any finite value
}

func parseRange(tag string) (interval, error) {
	if tag == "" {
		return interval{unrestricted: true}, nil
	}
	r := interval{text: tag}
	lo, hi, ok := strings.Cut(strings.TrimSpace(tag), ",")
	if !ok || len(lo) < 2 || len(hi) < 2 {
		return r, fmt.Errorf("bad range tag %q", tag)
	}
	switch lo[0] {
	case '[':
		r.loIn = true
	case '(':
	default:
		return r, fmt.Errorf("bad range tag %q", tag)
	}
	switch hi[len(hi)-1] {
	case ']':
		r.hiIn = true
	case ')':
	default:
		return r, fmt.Errorf("bad range tag %q", tag)
	}
	var err1, err2 error
	r.lo, err1 = strconv.ParseFloat(strings.TrimSpace(lo[1:]), 64)
	r.hi, err2 = strconv.ParseFloat(strings.TrimSpace(hi[:len(hi)-1]), 64)
	if err1 != nil || err2 != nil || !(r.lo < r.hi) {
		return r, fmt.Errorf("bad range tag %q", tag)
	}
	return r, nil
}

func (r interval) contains(x float64) bool {
	if r.unrestricted {
		return true
	}
	return (x > r.lo || r.loIn && x == r.lo) && (x < r.hi || r.hiIn && x == r.hi)
}

// String says the interval in words: "above 0 and at most 10000".
func (r interval) String() string {
	if r.loIn && r.hiIn {
		return fmt.Sprintf("between %v and %v", r.lo, r.hi)
	}
	lo, hi := "above", "below"
	if r.loIn {
		lo = "at least"
	}
	if r.hiIn {
		hi = "at most"
	}
	return fmt.Sprintf("%s %v and %s %v", lo, r.lo, hi, r.hi)
}
