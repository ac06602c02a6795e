package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration units beyond Go's (h, m, s, ms...): days, weeks and 365-day
// years. docs/cli.md ("Durations") documents the syntax.
var longUnits = []struct {
	suffix string
	unit   time.Duration
}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"y", 365 * 24 * time.Hour}}

// parseDuration is the one duration parser of every flag: a positive Go
// duration (90m, 8760h, 1h30m) or a whole number of days, weeks or years
// (30d, 2w, 1y).
func parseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("invalid duration %q (want e.g. 30d, 2w, 1y, 36h or 90m)", s)
	notPositive := fmt.Errorf("invalid duration %q: it must be more than zero", s)
	for _, u := range longUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			switch {
			case err != nil || v > int64(1<<62)/int64(u.unit):
				return 0, bad
			case v <= 0:
				return 0, notPositive
			}
			return time.Duration(v) * u.unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, bad
	case d <= 0:
		return 0, notPositive
	}
	return d, nil
}

// durationFlag is a flag.Value parsed with parseDuration.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return ""
	}
	return formatDuration(*f.d)
}

func (f durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// formatDuration prints d in the largest whole unit of parseDuration.
func formatDuration(d time.Duration) string {
	for i := len(longUnits) - 1; i >= 0; i-- {
		if u := longUnits[i]; d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.suffix
		}
	}
	return d.String()
}
