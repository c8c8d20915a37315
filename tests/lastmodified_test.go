package tests

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/cli"
	"github.com/ps-photos/ps/internal/cli/fetch"
)

// A jq-made URL record has no mtime: ps-fetch --name date takes the date
// from the server's Last-Modified (a HEAD before naming), stamps the file
// with it and reports it in the result, as curl -R and rclone copyurl do.
func TestFetchURLNamedByLastModified(t *testing.T) {
	modified := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "x.jpg", modified, strings.NewReader("jpeg bytes"))
	}))
	defer srv.Close()
	out := t.TempDir()
	in := `{"type":"item","url":"` + srv.URL + `/photos/x.jpg","path":"x.jpg"}` + "\n"
	var stdout, stderr bytes.Buffer
	code := fetch.Main([]string{"--name", "date", "-o", out, "--progress", "none"},
		cli.Stdio{In: strings.NewReader(in), Out: &stdout, Err: &stderr})
	if code != 0 {
		t.Fatalf("ps-fetch: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	file := filepath.Join(out, "2021", "03", "04", "x.jpg")
	st, err := os.Stat(file)
	if err != nil {
		t.Fatalf("not named by Last-Modified: %v\n%s", err, stdout.String())
	}
	if !st.ModTime().Equal(modified) {
		t.Errorf("file mtime %v, want %v", st.ModTime(), modified)
	}
	if !strings.Contains(stdout.String(), `"mtime":"2021-03-04T05:06:07Z"`) {
		t.Errorf("the result record lacks the mtime: %s", stdout.String())
	}
}
