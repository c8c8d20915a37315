//go:build !unix

package safefile

import (
	"io/fs"
	"os"
)

// NoFollow is 0 where open has no such flag (Windows): refuseLink checks
// first instead, which leaves a small window but keeps the rule.
const NoFollow = 0

const nonBlock = 0

// refuseLink refuses a symlink (or junction) under name before it is opened.
func refuseLink(name string) error {
	st, err := os.Lstat(name)
	if err == nil && st.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
		return notRegular(name, "a symlink")
	}
	return nil
}

func isLinkErr(error) bool { return false }
