package synology

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// linkKind says how a share link is resolved to a NAS address.
type linkKind int

const (
	kindDirect       linkKind = iota // https://host[:port]/sharing/<id>: the host is the NAS
	kindGofile                       // https://gofile.me/<gid>/<id>: resolved through Serv.php
	kindQuickConnect                 // quickconnect.to/<qcid>/<id> or <qcid>.quickconnect.to/sharing/<id>
	kindLanding                      // any other page: only a browser can follow it
)

// Link is a parsed share link.
type Link struct {
	Kind      linkKind
	Base      *url.URL // kindDirect: scheme://host:port of the NAS
	Page      string   // the link without user info, query or fragment: for records and hints
	open      string   // the link exactly as given, for a browser to open (never printed)
	ServerID  string   // kindGofile: the <gid>; kindQuickConnect: the QuickConnect id
	SharingID string   // empty for kindLanding until a browser finds it
}

var sharingIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ParseLink reads the link forms of docs/protocols/synology.md §1.1. A page that is
// none of them is kindLanding when anyPage is set (browser sign-in
// follows it), else an error.
func ParseLink(raw string, anyPage bool) (Link, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return Link{}, fmt.Errorf("%q is not a share link (want https://gofile.me/<id>/<id> or https://host/sharing/<id>)", Redact(raw))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return Link{}, fmt.Errorf("share link %q: scheme must be https or http", Redact(raw))
	}
	if u.User != nil {
		return Link{}, fmt.Errorf("share link %q: leave the password out of the link; use --password-file or PS_PASSWORD", Redact(raw))
	}
	host := strings.ToLower(u.Hostname())
	parts := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	l := Link{Page: Redact(s), open: s}
	switch {
	case host == "gofile.me" && len(parts) >= 2:
		l.Kind, l.ServerID, l.SharingID = kindGofile, parts[0], parts[1]
	case isQuickConnectApex(host) && len(parts) >= 2 && parts[0] != "sharing":
		l.Kind, l.ServerID, l.SharingID = kindQuickConnect, parts[0], parts[1]
	case isQuickConnectName(host) && len(parts) >= 2 && parts[0] == "sharing":
		l.Kind, l.ServerID, l.SharingID = kindQuickConnect, strings.SplitN(host, ".", 2)[0], parts[1]
	case len(parts) >= 2 && parts[0] == "sharing":
		l.Kind, l.SharingID = kindDirect, parts[1]
		l.Base = &url.URL{Scheme: u.Scheme, Host: hostPort(u)}
	case anyPage:
		l.Kind = kindLanding
		return l, nil
	default:
		return Link{}, fmt.Errorf("%q is not a share link (want https://gofile.me/<id>/<id> or https://host/sharing/<id>; --browser follows other pages)", Redact(raw))
	}
	if !sharingIDPattern.MatchString(l.SharingID) || (l.Kind != kindDirect && !sharingIDPattern.MatchString(l.ServerID)) {
		return Link{}, fmt.Errorf("share link %q: the share id has unexpected characters", Redact(raw))
	}
	return l, nil
}

// isQuickConnectApex: quickconnect.to or quickconnect.cn.
func isQuickConnectApex(host string) bool {
	return host == "quickconnect.to" || host == "quickconnect.cn"
}

// isQuickConnectName: <qcid>.quickconnect.to (exactly one label more).
// Relay and direct names (<qcid>.fr2.quickconnect.to, …direct.quickconnect.to)
// are NAS addresses and parse as direct links.
func isQuickConnectName(host string) bool {
	for _, apex := range []string{".quickconnect.to", ".quickconnect.cn"} {
		if label, ok := strings.CutSuffix(host, apex); ok && label != "" && !strings.Contains(label, ".") {
			return true
		}
	}
	return false
}

// hostPort writes host:port with the scheme's default port made explicit,
// so https://nas and https://nas:443 are one location.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// Location is the redacted "source" of every record from this link. It
// names the link, not the address it resolved to, so a session renewed
// through another candidate address still matches earlier items.
func (l Link) Location() string {
	switch l.Kind {
	case kindGofile:
		return "synology://gofile.me/" + l.ServerID + "/" + l.SharingID
	case kindQuickConnect:
		return "synology://" + strings.ToLower(l.ServerID) + ".quickconnect.to/sharing/" + l.SharingID
	case kindDirect:
		return "synology://" + l.Base.Host + "/sharing/" + l.SharingID
	}
	return ""
}

// LinkOfLocation turns a location back into the link it came from, for
// hints when no session is at hand. The share link itself (https://…) is
// a location too: ps-list https://gofile.me/… lists the share.
func LinkOfLocation(location string) (Link, error) {
	if IsShareLink(location) {
		return ParseLink(location, false)
	}
	rest, ok := strings.CutPrefix(location, Scheme+"://")
	if !ok {
		return Link{}, fmt.Errorf("%q is not a synology:// location", location)
	}
	return ParseLink("https://"+rest, false)
}

// IsShareLink reports whether location is an http(s) Synology share link
// (gofile.me, QuickConnect or /sharing/<id>), which the Synology source
// claims from the plain-HTTP one.
func IsShareLink(location string) bool {
	scheme := strings.ToLower(strings.SplitN(location, ":", 2)[0])
	if scheme != "https" && scheme != "http" {
		return false
	}
	_, err := ParseLink(location, false)
	return err == nil
}

// AuthHint is the command that signs in again for a location.
func AuthHint(link string) string {
	return "ps-auth synology --link " + link
}

// Redact removes what must never be shown from a URL-ish string: user
// info, query and fragment.
func Redact(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		if i := strings.IndexAny(s, "?#@"); i >= 0 {
			return s[:i] + "…"
		}
		return s
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}

// scrub replaces any secret inside msg; error texts from libraries (the
// browser driver, net/http) are passed through it before they leave.
func scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return msg
}
