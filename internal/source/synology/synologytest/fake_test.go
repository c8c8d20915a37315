package synologytest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// client trusts the fake's CA and keeps the sid cookie by hand.
func client(t *testing.T, s *Server) *http.Client {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		t.Fatal("bad CA PEM")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func call(t *testing.T, hc *http.Client, s *Server, path, sid string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-SYNO-SHARING", "AbCdEf123")
	if sid != "" {
		req.AddCookie(&http.Cookie{Name: "sharing_sid", Value: sid})
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func code(m map[string]any) float64 {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(float64)
	return c
}

func login(t *testing.T, hc *http.Client, s *Server, path string, quoted bool) string {
	t.Helper()
	id, pw := "AbCdEf123", "pw"
	if quoted {
		id, pw = `"`+id+`"`, `"`+pw+`"`
	}
	_, m := call(t, hc, s, path, "", url.Values{"api": {"SYNO.Core.Sharing.Login"}, "version": {"1"}, "method": {"login"}, "sharing_id": {id}, "password": {pw}})
	data, _ := m["data"].(map[string]any)
	sid, _ := data["sharing_sid"].(string)
	if len(sid) != 32 {
		t.Fatalf("%s (quoted %v): login gave %v", path, quoted, m)
	}
	return sid
}

func TestEntryAliasesAndParameterForms(t *testing.T) {
	s, err := Start(Config{Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddFile(File{Path: "a/b.CR3", Data: []byte("bytes"), Mtime: time.Unix(1700000000, 0)})
	hc := client(t, s)
	for _, alias := range []string{"/sharing/webapi/entry.cgi", "/webapi/entry.cgi", "/fsdownload/webapi/entry.cgi", "/sharing/webapi/auth.cgi", "/webapi/entry.cgi/SYNO.Core.Sharing.Login"} {
		for _, quoted := range []bool{false, true} {
			sid := login(t, hc, s, alias, quoted)
			folder := "/09.26.25 First Last/a"
			if quoted {
				folder = `"` + folder + `"`
			}
			_, m := call(t, hc, s, alias, sid, url.Values{"api": {"SYNO.FolderSharing.List"}, "version": {"2"}, "method": {"list"},
				"folder_path": {folder}, "additional": {`["size"]`}})
			data, _ := m["data"].(map[string]any)
			if data["total"] != 1.0 {
				t.Errorf("%s quoted=%v: list %v", alias, quoted, m)
			}
		}
	}
	sid := login(t, hc, s, "/sharing/webapi/entry.cgi", false)
	for _, tc := range []struct {
		form url.Values
		want float64
	}{
		{url.Values{"method": {"list"}, "version": {"2"}}, 101},
		{url.Values{"api": {"SYNO.Nope"}, "method": {"list"}, "version": {"2"}}, 102},
		{url.Values{"api": {"SYNO.FolderSharing.List"}, "method": {"nope"}, "version": {"2"}}, 103},
		{url.Values{"api": {"SYNO.FolderSharing.List"}, "method": {"list"}, "version": {"9"}}, 104},
		{url.Values{"api": {"SYNO.FolderSharing.List"}, "method": {"list"}, "version": {"2"}, "folder_path": {"/09.26.25 First Last/none"}}, 408},
		{url.Values{"api": {"SYNO.FolderSharing.List"}, "method": {"list"}, "version": {"2"}, "folder_path": {"/etc"}}, 407},
	} {
		if _, m := call(t, hc, s, "/sharing/webapi/entry.cgi", sid, tc.form); code(m) != tc.want {
			t.Errorf("%v: %v, want code %v", tc.form, m, tc.want)
		}
	}
}

func TestDownloadVariantsRangesAndExpiry(t *testing.T) {
	s, err := Start(Config{Password: "pw", SessionTTL: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddFile(File{Path: "a/b.CR3", Data: []byte("0123456789"), Mtime: time.Unix(1700000000, 0)})
	hc := client(t, s)
	sid := login(t, hc, s, "/sharing/webapi/entry.cgi", false)
	get := func(u, rng string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.AddCookie(&http.Cookie{Name: "sharing_sid", Value: sid})
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	p := "/09.26.25 First Last/a/b.CR3"
	varA := s.URL + "/fsdownload/webapi/file_download.cgi/b.CR3?api=SYNO.FolderSharing.Download&version=2&method=download&mode=download&dlink=" +
		url.QueryEscape(`"`+strings.ToUpper(hex.EncodeToString([]byte(p)))+`"`)
	varB := s.URL + "/sharing/webapi/entry.cgi?api=SYNO.FolderSharing.Download&version=2&method=download&mode=%22download%22&path=" + url.QueryEscape(`["`+p+`"]`)
	for _, u := range []string{varA, varB} {
		if resp, body := get(u, "bytes=4-"); resp.StatusCode != 206 || body != "456789" || resp.Header.Get("Content-Range") != "bytes 4-9/10" {
			t.Errorf("%s: %d %q %q", u, resp.StatusCode, body, resp.Header.Get("Content-Range"))
		}
		if resp, _ := get(u, "bytes=10-"); resp.StatusCode != 416 || resp.Header.Get("Content-Range") != "bytes */10" {
			t.Errorf("%s past the end: %d %q", u, resp.StatusCode, resp.Header.Get("Content-Range"))
		}
	}
	folder := s.URL + "/sharing/webapi/entry.cgi?api=SYNO.FolderSharing.Download&version=2&method=download&path=" + url.QueryEscape(`["/09.26.25 First Last/a"]`)
	if resp, body := get(folder, ""); resp.Header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(body, "PK") {
		t.Errorf("a folder downloads as %q", resp.Header.Get("Content-Type"))
	}
	time.Sleep(400 * time.Millisecond)
	if resp, body := get(varA, ""); body != `{"error":{"code":119},"success":false}` || resp.StatusCode != 200 {
		t.Errorf("after the TTL: %d %q, want the 38-byte JSON", resp.StatusCode, body)
	}
}
