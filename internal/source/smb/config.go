package smb

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/ps-photos/ps/internal/fault"
)

// DefaultPort is the SMB port when a location names none.
const DefaultPort = 445

// Config is a parsed smb:// location.
type Config struct {
	User   string // may be empty: the saved credentials say who
	Domain string
	Host   string
	Port   int
	Share  string
	Folder string // slash-separated, below the share; "" for the root
}

// ParseLocation reads smb://[user@]host[:port]/share[/path]. A password in
// the location is refused: it would end up in shell history and in every
// record's "source"; ps-auth smb saves it instead. A user written
// "DOMAIN;user" (the smb:// URL convention) sets the domain.
func ParseLocation(location string) (Config, error) {
	u, err := url.Parse(location)
	if err != nil {
		return Config{}, fault.Errorf(fault.Permanent, "bad smb location %q: %v", Redact(location), err)
	}
	if u.Scheme != "smb" {
		return Config{}, fault.Errorf(fault.Permanent, "not an smb:// location: %q", Redact(location))
	}
	if _, has := u.User.Password(); has {
		return Config{}, fault.Errorf(fault.Permanent, "smb location %q carries a password: remove it and run ps-auth smb, which saves it privately", Redact(location))
	}
	if u.Host == "" {
		return Config{}, fault.Errorf(fault.Permanent, "smb location %q names no server: want smb://[user@]host[:port]/share[/path]", location)
	}
	c := Config{Host: u.Hostname(), Port: DefaultPort}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port <= 0 || c.Port > 65535 {
			return Config{}, fault.Errorf(fault.Permanent, "smb location %q: bad port %q", location, p)
		}
	}
	if u.User != nil {
		c.User = u.User.Username()
		if d, user, ok := strings.Cut(c.User, ";"); ok {
			c.Domain, c.User = d, user
		}
	}
	p := strings.Trim(u.Path, "/")
	if p == "" {
		return Config{}, fault.Errorf(fault.Permanent, "smb location %q names no share: want smb://[user@]host[:port]/share[/path]", location)
	}
	c.Share, c.Folder, _ = strings.Cut(p, "/")
	if c.Folder != "" {
		c.Folder = path.Clean(c.Folder)
		if c.Folder == "." {
			c.Folder = ""
		}
		if !isLocal(c.Folder) {
			return Config{}, fault.Errorf(fault.Permanent, "smb location %q: folder %q leaves the share", location, c.Folder)
		}
	}
	return c, nil
}

// isLocal reports whether a cleaned slash path stays inside its root.
func isLocal(p string) bool {
	return p != ".." && !strings.HasPrefix(p, "../") && !strings.HasPrefix(p, "/") && !strings.ContainsRune(p, 0) && !strings.ContainsRune(p, '\\')
}

// Addr is host:port for dialing.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// Location is the canonical, secret-free location: always with the port,
// so two servers on one host stay apart.
func (c Config) Location() string {
	u := c.ShareLocation()
	if c.Folder != "" {
		u += "/" + (&url.URL{Path: c.Folder}).EscapedPath()
	}
	return u
}

// ShareLocation is the location of the share root: the key credentials
// and sessions are saved under.
func (c Config) ShareLocation() string {
	u := url.URL{Scheme: "smb", Host: c.Addr(), Path: "/" + c.Share}
	if c.User != "" {
		user := c.User
		if c.Domain != "" {
			user = c.Domain + ";" + user
		}
		u.User = url.User(user)
	}
	return u.String()
}

// hostShare is the location of the share without a user: credentials saved
// for it are used when a location names no user.
func (c Config) hostShare() string {
	n := c
	n.User, n.Domain, n.Folder = "", "", ""
	return n.ShareLocation()
}

// Hint is the ps-auth command that signs in to this share.
func (c Config) Hint() string {
	server := c.Host
	if c.Port != DefaultPort {
		server = c.Addr()
	}
	h := fmt.Sprintf("ps-auth smb --server %s --share %s", server, c.Share)
	user := c.User
	if user == "" {
		user = "USER"
	}
	h += " --user " + user
	if c.Domain != "" {
		h += " --domain " + c.Domain
	}
	return h
}

// Redact removes a password from an smb:// location, for messages.
func Redact(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		// Unparseable: drop everything between "//" and "@", which is
		// where a password would be.
		if i := strings.Index(location, "//"); i >= 0 {
			if j := strings.LastIndex(location[i:], "@"); j >= 0 {
				return location[:i+2] + "REDACTED" + location[i+j:]
			}
		}
		return location
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
		return u.String()
	}
	return location
}
