package s3store

import "time"

// SetClock sets the clock a Links sweep judges age by.
func SetClock(l *Links, now func() time.Time) { l.now = now }
