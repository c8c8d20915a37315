package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// textHandler prints "level: message key=value" lines for people; info
// messages get no level prefix, as in most Unix tools. On a terminal the
// level is coloured: errors red, warnings yellow.
type textHandler struct {
	mu    sync.Mutex
	w     io.Writer
	level slog.Level
	color bool
	attrs []slog.Attr
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if r.Level >= slog.LevelWarn {
		colour := Yellow
		if r.Level >= slog.LevelError {
			colour = Red
		}
		b.WriteString(Paint(h.color, colour, strings.ToLower(r.Level.String())+":"))
		b.WriteString(" ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *textHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &textHandler{w: h.w, level: h.level, color: h.color, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *textHandler) WithGroup(string) slog.Handler { return h }
