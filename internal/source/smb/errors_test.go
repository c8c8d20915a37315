package smb

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/ps-photos/ps/internal/fault"
)

func TestClassify(t *testing.T) {
	cfg := Config{Host: "nas", Port: 445, Share: "photos", User: "me"}
	for _, tc := range []struct {
		name   string
		err    error
		class  fault.Class
		broken bool
	}{
		{"logon failure", &smb2.ResponseError{Code: statusLogonFailure}, fault.Auth, false},
		{"account locked", &smb2.ResponseError{Code: statusAccountLockedOut}, fault.Auth, false},
		{"access denied to a path", &os.PathError{Op: "open", Path: "x", Err: os.ErrPermission}, fault.Permanent, false},
		{"missing file", &os.PathError{Op: "open", Path: "x", Err: os.ErrNotExist}, fault.NotFound, false},
		{"missing share", &smb2.ResponseError{Code: statusBadNetworkName}, fault.NotFound, false},
		{"delete pending", &smb2.ResponseError{Code: statusDeletePending}, fault.NotFound, false},
		{"session expired", &smb2.ResponseError{Code: statusNetworkSessionExpire}, fault.Transient, true},
		{"session deleted", &smb2.ResponseError{Code: statusUserSessionDeleted}, fault.Transient, true},
		{"sharing violation", &smb2.ResponseError{Code: statusSharingViolation}, fault.Transient, false},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, fault.Transient, true},
		{"connection refused", fmt.Errorf("connect: %w", syscall.ECONNREFUSED), fault.Transient, true},
		{"transport", &smb2.TransportError{Err: io.EOF}, fault.Transient, true},
		{"eof on the wire", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), fault.Transient, true},
		{"hung", &hungError{context.DeadlineExceeded}, fault.Transient, true},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), fault.Canceled, false},
		{"a folder", &smb2.ResponseError{Code: statusFileIsADirectory}, fault.Permanent, false},
	} {
		err := classify(cfg, tc.err)
		if c := fault.ClassOf(err); c != tc.class {
			t.Errorf("%s: class %s, want %s", tc.name, c, tc.class)
		}
		if b := brokenConn(tc.err); b != tc.broken {
			t.Errorf("%s: brokenConn %v, want %v", tc.name, b, tc.broken)
		}
		if tc.class == fault.Auth && fault.HintOf(err) != "ps-auth smb --server nas --share photos --user me" {
			t.Errorf("%s: hint %q", tc.name, fault.HintOf(err))
		}
	}
}
