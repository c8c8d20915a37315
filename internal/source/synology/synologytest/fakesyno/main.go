// Command fakesyno runs the fake Synology NAS of package synologytest on
// loopback, for benchmarks and demos. It prints shell assignments
// (SYNO_URL, SYNO_LINK, SYNO_GOFILE_LINK, PS_QUICKCONNECT_URL and, with
// -ca, SSL_CERT_FILE) on stdout and serves until interrupted.
//
//	eval "$(fakesyno -files 100000 -folders 200 -latency 50ms -ca /tmp/ca.pem &)"
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ps-photos/ps/internal/source/synology/synologytest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
	files := flag.Int("files", 1000, "number of files")
	folders := flag.Int("folders", 10, "number of folders the files are spread over")
	size := flag.Int64("size", 4096, "size of each file in bytes (synthetic content)")
	latency := flag.Duration("latency", 0, "delay added to every request")
	password := flag.String("password", "secret", "share password (empty: a public share)")
	pageCap := flag.Int("pagecap", 0, "most entries per List page (0: no cap)")
	plain := flag.Bool("http", false, "serve plain http instead of https")
	caFile := flag.String("ca", "", "write the test CA certificate (PEM) to this file")
	flag.Parse()

	srv, err := synologytest.Start(synologytest.Config{
		Listen: *listen, Password: *password, PageCap: *pageCap, Latency: *latency, PlainHTTP: *plain,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakesyno:", err)
		os.Exit(1)
	}
	defer srv.Close()
	synologytest.Populate(srv, *files, *folders, *size)
	if *caFile != "" && srv.CAPEM != nil {
		if err := os.WriteFile(*caFile, srv.CAPEM, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "fakesyno:", err)
			os.Exit(1)
		}
		fmt.Printf("SSL_CERT_FILE=%s\n", *caFile)
	}
	fmt.Printf("SYNO_URL=%s\nSYNO_LINK=%s\nSYNO_GOFILE_LINK=%s\nPS_QUICKCONNECT_URL=%s\n", srv.URL, srv.Link, srv.GofileLink, srv.Coordinator)
	os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
}
