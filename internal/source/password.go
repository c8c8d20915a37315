package source

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
)

// Password returns a secret from, in order: the file named by file, the
// PS_PASSWORD environment variable, or a prompt on the terminal without
// echo. It never comes from argv, so it stays out of ps and shell history.
// Its errors are usage errors (exit 2): the user gave no way to get one.
func (e *AuthEnv) Password(file, prompt string) (string, error) {
	if named, ok := e.Err.(interface{ Name() string }); ok {
		prompt = named.Name() + ": " + prompt // like every line the tool writes (cli.Screen)
	}
	pw, err := readPassword(file, prompt)
	return pw, Usage(err)
}

func readPassword(file, prompt string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read password file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if p, ok := os.LookupEnv("PS_PASSWORD"); ok {
		return p, nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errors.New("no password: use --password-file FILE or PS_PASSWORD (no terminal to ask on)")
	}
	defer tty.Close()
	fmt.Fprint(tty, prompt)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}
