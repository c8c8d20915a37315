// Package safefile opens the files ps-fetch keeps for itself in an output
// folder (.ps-fetch-name, the manifest, its lock) without following a
// symlink: a link planted there would make ps-fetch write outside the
// folder, or read its naming template from anywhere. Anything but a
// regular file is refused with an error that says so.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular is wrapped by the error for a state file that is a
// symlink, folder, pipe or device.
var ErrNotRegular = errors.New("not a regular file")

// Open opens name like os.OpenFile, but refuses a symlink in its last
// element and anything that is not a regular file. A missing file (without
// O_CREATE) is fs.ErrNotExist, as with os.OpenFile.
func Open(name string, flag int, perm fs.FileMode) (*os.File, error) {
	if err := refuseLink(name); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, flag|NoFollow|nonBlock, perm)
	if err != nil {
		if isLinkErr(err) {
			return nil, notRegular(name, "a symlink")
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, notRegular(name, kind(st.Mode()))
	}
	return f, nil
}

// ReadFile reads a whole state file through Open.
func ReadFile(name string) ([]byte, error) {
	f, err := Open(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// WriteFile replaces the contents of a state file through Open.
func WriteFile(name string, data []byte, perm fs.FileMode) error {
	f, err := Open(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func notRegular(name, what string) error {
	return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: it is %s, and ps-fetch does not follow or replace it (remove it, or choose another folder)", ErrNotRegular, what)}
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}
