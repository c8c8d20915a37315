package icloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/retry"
)

// adpMessage tells the user what to change on their phone when iCloud
// refuses web access to the photo library.
const adpMessage = "iCloud refuses access to your photos from outside your devices (ACCESS_DENIED: %s). " +
	"On your iPhone open Settings > [your name] > iCloud and turn ON \"Access iCloud Data on the Web\", " +
	"and turn OFF Advanced Data Protection (ps cannot read end-to-end encrypted libraries); then run ps-auth icloud again"

// errorBody is the union of Apple's error envelopes: CloudKit's
// serverErrorCode/reason/retryAfter, setup's success/error, idmsa's
// serviceErrors and service_errors.
type errorBody struct {
	ServerErrorCode string `json:"serverErrorCode"`
	Reason          string `json:"reason"`
	RetryAfter      int    `json:"retryAfter"`
	Error           string `json:"error"`
	ErrorMessage    string `json:"errorMessage"`
	ServiceErrors   []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"serviceErrors"`
	ServiceErrors2 []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"service_errors"`
}

func (b *errorBody) code() string {
	switch {
	case b.ServerErrorCode != "":
		return b.ServerErrorCode
	case len(b.ServiceErrors) > 0:
		return b.ServiceErrors[0].Code
	case len(b.ServiceErrors2) > 0:
		return b.ServiceErrors2[0].Code
	}
	return ""
}

func (b *errorBody) reason() string {
	for _, s := range []string{b.Reason, b.ErrorMessage, b.Error} {
		if s != "" {
			return s
		}
	}
	if len(b.ServiceErrors) > 0 {
		return b.ServiceErrors[0].Message
	}
	if len(b.ServiceErrors2) > 0 {
		return b.ServiceErrors2[0].Message
	}
	return ""
}

// httpError is an unsuccessful response, kept so callers can look at the
// status and Apple's code after classification.
type httpError struct {
	Where  string
	Status int
	Code   string
	Reason string
}

func (e *httpError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d", e.Where, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// statusOf returns the HTTP status behind err, or 0.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

func codeOf(err error) string {
	var he *httpError
	if errors.As(err, &he) {
		return he.Code
	}
	return ""
}

var throttleCodes = map[string]bool{
	"THROTTLED": true, "TRY_AGAIN_LATER": true, "RETRY_LATER": true, "CAS_OP_LOCK": true, "ZONE_BUSY": true,
}

// classify turns a response Apple did not answer with success into a
// classified error. hint is the ps-auth command for auth failures.
func classify(where string, resp *http.Response, body []byte, hint string) error {
	var eb errorBody
	if len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '{' {
		json.Unmarshal(body, &eb)
	}
	he := &httpError{Where: where, Status: resp.StatusCode, Code: eb.code(), Reason: eb.reason()}
	if he.Reason == "" && he.Code == "" {
		he.Reason = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	retryAt := retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if eb.RetryAfter > 0 {
		retryAt = time.Now().Add(time.Duration(min(eb.RetryAfter, 300)) * time.Second)
	}
	sessionGone := he.Code == "AUTHENTICATION_REQUIRED" || strings.Contains(he.Reason, "X-APPLE-WEBAUTH-TOKEN") ||
		strings.Contains(he.Reason, "Invalid global session")
	switch {
	case he.Code == "ACCESS_DENIED":
		return fault.Wrap(fault.Permanent, fmt.Errorf(adpMessage, orDefault(he.Reason, where)))
	case throttleCodes[he.Code]:
		return fault.WithRetryAfter(he, retryAt)
	case resp.StatusCode == http.StatusInternalServerError && sessionGone:
		return fault.Wrap(fault.Permanent, fmt.Errorf("%w (iCloud wants you to sign in at https://www.icloud.com once, to accept new terms or finish setting up)", he))
	case (resp.StatusCode == 421 || resp.StatusCode == 450 || resp.StatusCode == http.StatusUnauthorized) && sessionGone:
		return fault.WithHint(fault.Auth, fmt.Errorf("%w: the iCloud session has expired", he), hint)
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests ||
		resp.StatusCode == 421 || resp.StatusCode == 450:
		// Apple refusing service, or a misdirected request; both pass
		// with time. A 421 that persists is turned into auth by the caller.
		return fault.WithRetryAfter(he, retryAt)
	case he.Code == "ZONE_NOT_FOUND":
		return fault.Wrap(fault.NotFound, fmt.Errorf("%w (no such library: see ps-list icloud: --list-libraries)", he))
	case he.Code == "AUTHENTICATION_FAILED":
		return fault.Wrap(fault.Permanent, fmt.Errorf("%w (iCloud Photos is not set up for this account: sign in at https://www.icloud.com once)", he))
	case resp.StatusCode == http.StatusUnauthorized:
		return fault.WithHint(fault.Auth, he, hint)
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return fault.Wrap(fault.NotFound, he)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
		return fault.Wrap(fault.Transient, he)
	}
	return fault.Wrap(fault.Permanent, he)
}

// classifyNet classifies an error that got no response at all.
func classifyNet(where string, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return fault.Wrap(fault.Canceled, err)
	case fault.ClassOf(err) != fault.Permanent:
		return err // already classified
	}
	return fault.Wrap(fault.Transient, fmt.Errorf("%s: %w", where, err))
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// authHint is the command that signs in again.
func authHint(username, domain string) string {
	if username == "" {
		username = "EMAIL"
	}
	h := "ps-auth icloud --username " + username
	if domain == "cn" {
		h += " --region cn"
	}
	return h
}
