package smb

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/state"
)

// credentialsName is the name the credentials are saved under.
const credentialsName = "smb-credentials"

// AuthCommand is "ps-auth smb".
type AuthCommand struct {
	Server       string `required:"" placeholder:"HOST[:PORT]" help:"The SMB server (port 445 unless given)."`
	Share        string `required:"" placeholder:"NAME" help:"The share to sign in to."`
	User         string `required:"" placeholder:"USER" help:"User name on the server."`
	Domain       string `placeholder:"DOMAIN" help:"Windows domain or workgroup, when the server wants one (default: none)."`
	PasswordFile string `type:"path" placeholder:"FILE" help:"Read the password from this file (else PS_PASSWORD, else a prompt)."`
}

// Help is shown by ps-auth smb --help.
func (c *AuthCommand) Help() string {
	return `Proves the user name and password by connecting and opening the share, then saves them with mode 0600
in the state folder (like a mount.cifs credentials file) and prints a session record without the password.

Examples:
  ps-auth smb --server nas.local --share photos --user me
  ps-auth smb --server 127.0.0.1:1445 --share music --user me --password-file pw | ps-list`
}

// Run signs in, saves the credentials and writes the session record.
func (c *AuthCommand) Run(env *source.AuthEnv) error {
	cfg, err := c.config()
	if err != nil {
		return source.Usage(err)
	}
	pw, err := env.Password(c.PasswordFile, fmt.Sprintf("Password for %s on %s: ", c.User, cfg.Host))
	if err != nil {
		return source.Usage(err)
	}
	creds := Credentials{Username: c.User, Password: pw, Domain: c.Domain}
	if err := prove(env.Ctx, cfg, creds); err != nil {
		return err
	}
	store := state.Store{Dir: env.Env.StateDir}
	// Saved for this user, and for the share, so smb://host/share without
	// a user finds them too.
	for _, key := range []string{cfg.ShareLocation(), cfg.hostShare()} {
		if err := store.SaveSecretJSON(key, credentialsName, creds); err != nil {
			return fault.Errorf(fault.Local, "save credentials: %v", err)
		}
	}
	rec := sessionRecord(cfg)
	if err := store.SaveSession(rec); err != nil {
		return fault.Wrap(fault.Local, err)
	}
	if env.Env.Log != nil {
		env.Env.Log.Info(fmt.Sprintf("signed in to %s; credentials saved (mode 0600) in %s", cfg.ShareLocation(), env.Env.StateDir))
	}
	if err := env.Out.Encode(rec); err != nil {
		return err
	}
	return env.Out.Flush()
}

// config turns the flags into a share location.
func (c *AuthCommand) config() (Config, error) {
	host, port := c.Server, DefaultPort
	if h, p, err := net.SplitHostPort(c.Server); err == nil {
		n, perr := strconv.Atoi(p)
		if perr != nil || n <= 0 || n > 65535 {
			return Config{}, fmt.Errorf("--server %q: bad port", c.Server)
		}
		host, port = h, n
	}
	host = strings.Trim(host, "[]")
	share := strings.Trim(c.Share, `/\`)
	if host == "" || share == "" || strings.ContainsAny(share, `/\`) {
		return Config{}, fmt.Errorf("want --server HOST[:PORT] and --share NAME (one share name, no path)")
	}
	return Config{User: c.User, Domain: c.Domain, Host: host, Port: port, Share: share}, nil
}

// prove connects, signs in and opens the share.
func prove(ctx context.Context, cfg Config, creds Credentials) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	p := newPool(cfg, creds, 1)
	defer p.close()
	c, err := p.get(ctx)
	if err != nil {
		return err
	}
	p.put(c, nil)
	return nil
}

// sessionRecord describes the signed-in share; it names the credentials
// file but never holds the password.
func sessionRecord(cfg Config) *record.Record {
	sess := map[string]any{
		"server": cfg.Host, "port": cfg.Port, "share": cfg.Share, "user": cfg.User,
		"credentials": "saved in the state folder, mode 0600",
	}
	if cfg.Domain != "" {
		sess["domain"] = cfg.Domain
	}
	return &record.Record{
		Type: record.TypeSession, Source: cfg.ShareLocation(),
		Created: time.Now().UTC().Truncate(time.Second), Session: sess,
	}
}
