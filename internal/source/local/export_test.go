package local

import "time"

// SetSlack lets tests shorten the allowance for coarse file times.
func SetSlack(d time.Duration) (restore func()) {
	old := slack
	slack = d
	return func() { slack = old }
}
