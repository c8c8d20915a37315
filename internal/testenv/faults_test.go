package testenv

import (
	"fmt"
	"testing"
)

func TestFaultsReportsUnfired(t *testing.T) {
	var l Faults
	fired := l.Add("502 on list")
	l.Add("429 on download")
	fired.Fire()
	fired.Fire()
	var reports []string
	l.Check(func(format string, args ...any) { reports = append(reports, fmt.Sprintf(format, args...)) })
	if len(reports) != 1 || reports[0] != "injected fault never fired (the test proves nothing about it): 429 on download" {
		t.Errorf("reports %q, want only the 429", reports)
	}
}
