package all_test

import (
	"reflect"
	"testing"

	"github.com/ps-photos/ps/internal/source/all"
)

// Every source registers without a clash (NewRegistry panics on one), and
// every listing-flag and ps-auth struct is a fresh pointer to a struct, as
// kong needs.
func TestRegistry(t *testing.T) {
	reg := all.Registry()
	for _, f := range reg.Factories() {
		if f.Name == "" || len(f.Schemes) == 0 || f.New == nil || f.Help == "" {
			t.Errorf("%s: incomplete factory", f.Name)
		}
		for what, mk := range map[string]func() any{"ListFlags": f.ListFlags, "Auth": f.Auth} {
			if mk == nil {
				continue
			}
			a, b := mk(), mk()
			if v := reflect.ValueOf(a); v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
				t.Errorf("%s.%s returns %T, want a pointer to a struct", f.Name, what, a)
			} else if a == b {
				t.Errorf("%s.%s returns the same struct twice", f.Name, what)
			}
		}
	}
}
