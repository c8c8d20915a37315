package synology

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source/synology/api"
)

// APIError is a {"success":false,"error":{"code":N}} answer.
type APIError struct {
	API    string
	Code   int
	Detail string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s: error %d (%s)", e.API, e.Code, codeMeaning(e.Code))
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Error codes with a meaning the client acts on (docs/protocols/synology.md §6).
const (
	codeNoParameter     = 101
	codeNoPermission    = 105
	codeSessionTimeout  = 106
	codeDuplicateLogin  = 107
	codeInvalidSession  = 119
	codeWrongPassword   = 1001
	codeNoSuchFile      = 408
	codeNotPermitted    = 407
	codeLinkExpired     = 114
	codeSystemBusy      = 402
	codeDeviceBusy      = 421
	codeUnknown         = 100
	codeNetworkUnstable = 109
	codeAddressChanged  = 150
)

func codeMeaning(code int) string {
	switch code {
	case codeUnknown:
		return "unknown error"
	case codeNoParameter:
		return "missing parameter or session"
	case 102, 103, 104:
		return "API, method or version not supported by this server"
	case codeNoPermission:
		return "no permission"
	case codeSessionTimeout:
		return "session timed out"
	case codeDuplicateLogin:
		return "session interrupted by another login"
	case 109, 110, 111, 117, 118:
		return "network unstable or system busy"
	case codeLinkExpired:
		return "link expired or invalid"
	case codeInvalidSession:
		return "session not found"
	case codeSystemBusy:
		return "system too busy"
	case codeNotPermitted:
		return "operation not permitted"
	case codeNoSuchFile:
		return "no such file or folder"
	case codeDeviceBusy:
		return "device or resource busy"
	case codeWrongPassword:
		return "wrong share password"
	case codeAddressChanged:
		return "this session was signed in from another network address (did the network change?)"
	}
	return "unexpected error"
}

// isSessionCode reports whether code means the sid is missing or expired,
// so a fresh login may cure it.
func isSessionCode(code int) bool {
	switch code {
	case codeNoParameter, codeNoPermission, codeSessionTimeout, codeDuplicateLogin, codeInvalidSession, codeAddressChanged:
		return true
	}
	return false
}

// classOfCode maps an API error code to a fault class.
func classOfCode(code int) fault.Class {
	switch code {
	case codeNoPermission, codeSessionTimeout, codeDuplicateLogin, codeInvalidSession, codeNoParameter, codeWrongPassword, codeAddressChanged:
		return fault.Auth
	case codeUnknown, codeNetworkUnstable, 110, 111, 117, 118, codeSystemBusy, codeDeviceBusy:
		return fault.Transient
	case codeNoSuchFile:
		return fault.NotFound
	}
	return fault.Permanent
}

// apiError classifies a failed answer; its "error" may be missing.
func apiError(apiName string, wire *api.Error) error {
	e := &APIError{API: apiName, Code: codeUnknown}
	if wire != nil {
		e.Code = wire.Code
		e.Detail = wire.Detail()
	}
	return fault.Wrap(classOfCode(e.Code), e)
}

// codeOf returns the API error code inside err, or 0.
func codeOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

// HTTPError is a non-2xx answer.
type HTTPError struct {
	Status int
	What   string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s: HTTP %d %s", e.What, e.Status, http.StatusText(e.Status))
}

// classifyStatus turns a failed HTTP status into a classified error:
// 429 and a 503 with Retry-After are rate limits, other 5xx transient.
func classifyStatus(what string, resp *http.Response) error {
	err := &HTTPError{Status: resp.StatusCode, What: what}
	after := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return fault.WithRetryAfter(err, after)
	case resp.StatusCode == http.StatusServiceUnavailable && !after.IsZero():
		return fault.WithRetryAfter(err, after)
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout:
		return fault.Wrap(fault.Transient, err)
	case resp.StatusCode == http.StatusNotFound:
		return fault.Wrap(fault.NotFound, err)
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return fault.Wrap(fault.Auth, err)
	}
	return fault.Wrap(fault.Permanent, err)
}

// classifyNet classifies a transport error: cancellation, certificate
// problems (permanent: retrying cannot fix a name mismatch) and everything
// else on the wire (transient).
func classifyNet(err error) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return fault.Wrap(fault.Canceled, err)
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		return fault.Wrap(fault.Permanent, fmt.Errorf("%w (the certificate does not verify; --insecure skips the check)", err))
	}
	// Resets, timeouts, unexpected EOFs: the relay path is flaky.
	return fault.Wrap(fault.Transient, err)
}

// decodeEnvelope reads a JSON answer (at most maxJSON bytes) in one pass,
// decoding its data into out (when not nil), or returns a classified API
// error.
func decodeEnvelope(apiName string, body io.Reader, out any) error {
	b, err := io.ReadAll(io.LimitReader(body, maxJSON+1))
	if err != nil {
		return classifyNet(err)
	}
	if len(b) > maxJSON {
		return fault.Errorf(fault.Permanent, "%s: answer larger than %d MiB", apiName, maxJSON>>20)
	}
	env := struct {
		Success bool       `json:"success"`
		Data    any        `json:"data"`
		Error   *api.Error `json:"error"`
	}{Data: out}
	if err := json.Unmarshal(b, &env); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return fault.Errorf(fault.Transient, "%s: answer is not JSON (%d bytes): a proxy or relay page?", apiName, len(b))
		}
		return fault.Errorf(fault.Permanent, "%s: unexpected answer: %v", apiName, err)
	}
	if !env.Success {
		return apiError(apiName, env.Error)
	}
	return nil
}

// maxJSON caps metadata answers, so a hostile server cannot make us
// buffer gigabytes of "JSON".
const maxJSON = 8 << 20
