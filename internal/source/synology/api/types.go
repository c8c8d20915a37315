// Package api holds the wire shapes of the Synology share-link protocol:
// QuickConnect's Serv.php, the DSM Web API envelope, Sharing.Login,
// Sharing.Initdata and FolderSharing.List, as docs/protocols/synology.md
// describes them; fields the server may omit or send in
// more than one shape are decoded tolerantly here so the client above
// never guesses.
package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// API names and versions the client speaks.
const (
	APIInfo     = "SYNO.API.Info"
	APILogin    = "SYNO.Core.Sharing.Login"
	APIInitdata = "SYNO.Core.Sharing.Initdata"
	APIList     = "SYNO.FolderSharing.List"
	APIDownload = "SYNO.FolderSharing.Download"
)

// Envelope is every Web API answer: {"success":…,"data":…,"error":…}.
type Envelope struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   *Error          `json:"error"`
}

// Error is the "error" object. Errors is an array of {code,path} in File
// Station answers and a plain string in Sharing.Login's; it is kept raw.
type Error struct {
	Code   int             `json:"code"`
	Errors json.RawMessage `json:"errors"`
}

// Detail returns the textual part of Errors when it is a string.
func (e *Error) Detail() string {
	var s string
	if json.Unmarshal(e.Errors, &s) == nil {
		return s
	}
	return ""
}

// LoginData is the data of a successful Sharing.Login.
type LoginData struct {
	SharingSID string `json:"sharing_sid"`
}

// InitData is the part of Sharing.Initdata the client reads; every other
// key is ignored.
type InitData struct {
	Private struct {
		Filename string `json:"filename"`
	} `json:"Private"`
	Sharing struct {
		App struct {
			IsFolder *bool `json:"is_folder"`
		} `json:"app"`
	} `json:"Sharing"`
}

// ListData is one page of FolderSharing.List. A "files" that is not a
// list fails the decode (the folder becomes a failure record); null is an
// empty page.
type ListData struct {
	Offset json.RawMessage `json:"offset"`
	Total  Int             `json:"total"`
	Files  []File          `json:"files"`
}

// File is one listing entry.
type File struct {
	Name       string      `json:"name"`
	Path       string      `json:"path"`
	IsDir      bool        `json:"isdir"`
	Additional *Additional `json:"additional,omitempty"`
}

// Additional holds the fields asked for with additional=[…].
type Additional struct {
	Size Int    `json:"size"`
	Type string `json:"type,omitempty"`
	Time *Times `json:"time,omitempty"`
}

// Times are Unix seconds. Only mtime is read: servers may send only it,
// and skipping crtime/ctime/atime keeps decoding 100,000-entry folders
// cheap.
type Times struct {
	Mtime Int `json:"mtime"`
}

// Int is an integer a server may send as a number, a numeric string, or
// not at all. Valid is false when the value was missing or unusable.
type Int struct {
	Value int64
	Valid bool
}

// UnmarshalJSON accepts 12, "12", 1.2e1 and null; anything else leaves the
// value invalid rather than failing the whole page. Plain integers, the
// common case, are parsed without allocating.
func (n *Int) UnmarshalJSON(b []byte) error {
	*n = Int{}
	if v, ok := parseDigits(b); ok {
		*n = Int{Value: v, Valid: true}
		return nil
	}
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		return nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = Int{Value: v, Valid: true}
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int64(f)) {
		*n = Int{Value: int64(f), Valid: true}
	}
	return nil
}

// parseDigits reads a non-negative decimal of at most 18 digits.
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// MarshalJSON writes the number, or null when invalid.
func (n Int) MarshalJSON() ([]byte, error) {
	if !n.Valid {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, n.Value, 10), nil
}

// Pingpong is /webman/pingpong.cgi's answer; Ezid is md5hex(serverID).
type Pingpong struct {
	Success bool   `json:"success"`
	Ezid    string `json:"ezid"`
}

// ServerRequest is one object of the array POSTed to Serv.php.
type ServerRequest struct {
	Version         int    `json:"version"`
	Command         string `json:"command"`
	StopWhenError   bool   `json:"stop_when_error"`
	StopWhenSuccess bool   `json:"stop_when_success"`
	ID              string `json:"id"`
	ServerID        string `json:"serverID"`
	IsGofile        bool   `json:"is_gofile"`
	Path            string `json:"path,omitempty"`
}

// ServerInfo is one result of Serv.php get_server_info.
type ServerInfo struct {
	Command  string    `json:"command"`
	Version  int       `json:"version"`
	Errno    int       `json:"errno"`
	Suberrno int       `json:"suberrno"`
	Errinfo  string    `json:"errinfo"`
	Sites    []string  `json:"sites"`
	Env      Env       `json:"env"`
	Server   Server    `json:"server"`
	Service  Service   `json:"service"`
	SmartDNS *SmartDNS `json:"smartdns"`
}

// Env names the coordinator's control host and the relay region.
type Env struct {
	ControlHost string `json:"control_host"`
	RelayRegion string `json:"relay_region"`
}

// Server describes the NAS. "NULL" (a string) means an unset DDNS/FQDN.
type Server struct {
	ServerID  string      `json:"serverID"`
	DDNS      string      `json:"ddns"`
	FQDN      string      `json:"fqdn"`
	External  External    `json:"external"`
	Interface []Interface `json:"interface"`
}

// External is the NAS's public address.
type External struct {
	IP   string `json:"ip"`
	IPv6 string `json:"ipv6"`
}

// Interface is one LAN interface of the NAS.
type Interface struct {
	IP   string `json:"ip"`
	Name string `json:"name"`
	IPv6 []struct {
		Address string `json:"address"`
		Scope   string `json:"scope"`
	} `json:"ipv6"`
}

// Service is the port the share's service listens on.
type Service struct {
	Port      int    `json:"port"`
	ExtPort   int    `json:"ext_port"`
	RelayIP   string `json:"relay_ip,omitempty"`
	RelayPort int    `json:"relay_port,omitempty"`
}

// SmartDNS holds Synology DNS names for the NAS; External carries a
// certificate that verifies.
type SmartDNS struct {
	Host       string   `json:"host"`
	External   string   `json:"external"`
	ExternalV6 string   `json:"externalv6"`
	Lan        []string `json:"lan"`
	LanV6      []string `json:"lanv6"`
}
