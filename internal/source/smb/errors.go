package smb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"syscall"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/ps-photos/ps/internal/fault"
)

// NTSTATUS codes ps tells apart ([MS-ERREF] 2.3.1). go-smb2 keeps its table
// internal, so the few we need are spelled out here.
const (
	statusAccessDenied         = 0xC0000022
	statusLogonFailure         = 0xC000006D
	statusWrongPassword        = 0xC000006A
	statusNoSuchUser           = 0xC0000064
	statusAccountRestriction   = 0xC000006E
	statusPasswordExpired      = 0xC0000071
	statusAccountDisabled      = 0xC0000072
	statusAccountLockedOut     = 0xC0000234
	statusPasswordMustChange   = 0xC0000224
	statusNoSuchFile           = 0xC000000F
	statusDeletePending        = 0xC0000056
	statusBadNetworkName       = 0xC00000CC
	statusObjectNameInvalid    = 0xC0000033
	statusNetworkSessionExpire = 0xC000035C
	statusUserSessionDeleted   = 0xC0000203
	statusNetworkNameDeleted   = 0xC00000C9
	statusIOTimeout            = 0xC00000B5
	statusInsufficientRes      = 0xC000009A
	statusRequestNotAccepted   = 0xC00000D0
	statusSharingViolation     = 0xC0000043
	statusFileClosed           = 0xC0000128
	statusConnectionReset      = 0xC000020D
	statusConnectionDisconnect = 0xC000020C
	statusNetworkBusy          = 0xC00000BF
	statusServerUnavailable    = 0xC0000466
	statusFileIsADirectory     = 0xC00000BA
	statusNotADirectory        = 0xC0000103
)

// classify maps an error from go-smb2 or the network to a fault class, once,
// at the protocol edge. cfg gives auth errors their ps-auth hint.
func classify(cfg Config, err error) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	class := classOf(err)
	if class == fault.Auth {
		return fault.WithHint(fault.Auth, err, cfg.Hint())
	}
	return fault.Wrap(class, err)
}

func classOf(err error) fault.Class {
	switch {
	case errors.Is(err, context.Canceled):
		return fault.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return fault.Transient
	case errors.Is(err, fs.ErrNotExist):
		return fault.NotFound
	case errors.Is(err, fs.ErrPermission):
		// Access denied on one file or folder: the share user may not read
		// it. Signing in again cannot help, and ps-fetch stops a whole
		// source on auth errors, so it is permanent; a share the user may
		// not open at all is auth (see pool.dial).
		return fault.Permanent
	}
	var re *smb2.ResponseError
	if errors.As(err, &re) {
		return statusClass(re.Code)
	}
	if brokenConn(err) {
		return fault.Transient
	}
	return fault.Permanent
}

func statusClass(code uint32) fault.Class {
	switch code {
	case statusAccessDenied, statusLogonFailure, statusWrongPassword, statusNoSuchUser,
		statusAccountRestriction, statusPasswordExpired, statusAccountDisabled,
		statusAccountLockedOut, statusPasswordMustChange:
		return fault.Auth
	case statusNoSuchFile, statusDeletePending, statusBadNetworkName:
		return fault.NotFound
	case statusNetworkSessionExpire, statusUserSessionDeleted, statusNetworkNameDeleted,
		statusIOTimeout, statusInsufficientRes, statusRequestNotAccepted, statusSharingViolation,
		statusFileClosed, statusConnectionReset, statusConnectionDisconnect, statusNetworkBusy,
		statusServerUnavailable:
		return fault.Transient
	}
	return fault.Permanent
}

// brokenConn reports whether err means the connection (or the SMB session
// on it) is unusable: the pool then drops it and dials again.
func brokenConn(err error) bool {
	var te *smb2.TransportError
	var ne net.Error
	var ir *smb2.InvalidResponseError
	var re *smb2.ResponseError
	var he *hungError
	switch {
	case errors.As(err, &te), errors.As(err, &ne), errors.As(err, &ir), errors.As(err, &he):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &re):
		switch re.Code {
		case statusNetworkSessionExpire, statusUserSessionDeleted, statusNetworkNameDeleted,
			statusConnectionReset, statusConnectionDisconnect:
			return true
		}
	}
	return false
}

// errorf is fmt.Errorf, classified like the error it wraps.
func errorf(cfg Config, err error, format string, args ...any) error {
	return classify(cfg, fmt.Errorf(format+": %w", append(args, err)...))
}
