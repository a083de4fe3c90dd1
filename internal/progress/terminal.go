package progress

import (
	"io"
	"os"
	"sync"
)

// Terminal is a writer shared by a progress bar and log lines, e.g.
// stderr. On a terminal a bar redraws its line in place with "\r"; a log
// line written there would land on the end of the bar
// ("…eta 3sINFO[0000] validation"). Terminal clears the bar's line before
// every other write, and the bar draws itself again at its next update.
// It is safe for concurrent use.
type Terminal struct {
	mu     sync.Mutex
	out    io.Writer
	tty    bool
	onLine bool // a bar's line is on screen, without a newline
}

// NewTerminal wraps out; bars on it redraw in place when out is a
// character device (a terminal).
func NewTerminal(out io.Writer) *Terminal {
	return &Terminal{out: out, tty: isTTY(out)}
}

// Write writes p (a log line), first clearing a bar's line.
func (t *Terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clearLine()
	return t.out.Write(p)
}

// drawLine replaces the current line with s, leaving the cursor on it.
func (t *Terminal) drawLine(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	io.WriteString(t.out, "\r"+s+"\x1b[K")
	t.onLine = true
}

// endLine ends a bar's line with a newline, keeping it on screen.
func (t *Terminal) endLine() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.onLine {
		io.WriteString(t.out, "\n")
		t.onLine = false
	}
}

// clearLine erases a bar's line; the caller holds t.mu.
func (t *Terminal) clearLine() {
	if t.onLine {
		io.WriteString(t.out, "\r\x1b[K")
		t.onLine = false
	}
}

// isTTY reports whether w is a terminal.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
