//go:build unix

// Command smbserve shares a folder through a private Samba smbd on
// loopback, for benchmarks and manual tries:
//
//	go run ./internal/source/smb/smbtest/smbserve -dir DIR -user U -password-file F
//
// It prints the smb:// URL and the port, runs until SIGINT or SIGTERM, then
// stops smbd. Files are served as root, so any folder can be shared. The
// password comes from -password-file or PS_PASSWORD (-password is accepted
// for throwaway benchmark passwords).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ps-photos/ps/internal/source/smb/smbtest"
)

func main() {
	dir := flag.String("dir", "", "folder to share (required)")
	user := flag.String("user", smbtest.UnixUser, "SMB user name")
	password := flag.String("password", "", "password (prefer -password-file or PS_PASSWORD)")
	passwordFile := flag.String("password-file", "", "read the password from this file")
	share := flag.String("share", "photos", "share name")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "smbserve: -dir is required")
		os.Exit(2)
	}
	pw := *password
	if *passwordFile != "" {
		b, err := os.ReadFile(*passwordFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "smbserve:", err)
			os.Exit(2)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	} else if pw == "" {
		pw = os.Getenv("PS_PASSWORD")
	}
	srv, err := smbtest.Start(smbtest.Options{Dir: *dir, User: *user, Password: pw, Share: *share, AsRoot: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "smbserve:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	fmt.Printf("%s\nport %d\n", srv.URL(), srv.Port)
	if pw == "" {
		fmt.Printf("password %s\n", srv.Password)
	}
	<-sig
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "smbserve: stop:", err)
		os.Exit(1)
	}
}
