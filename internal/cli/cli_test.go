package cli

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseOneLine: a bad flag value gives one line naming it and pointing
// at -h (exit 2), not the whole usage; -h prints the usage and exits 0.
func TestParseOneLine(t *testing.T) {
	newFS := func(out io.Writer) *flag.FlagSet {
		fs := flag.NewFlagSet("meta", flag.ContinueOnError)
		fs.SetOutput(out)
		fs.Int("iterations", 0, "meta-iterations")
		fs.Usage = func() { io.WriteString(fs.Output(), "usage: meta [flags]\n") }
		return fs
	}
	for _, args := range [][]string{{"-iterations", "many"}, {"-nope"}, {"stray"}} {
		var out, stderr bytes.Buffer
		err := Parse(newFS(&out), args)
		if !errors.Is(err, ErrUsage) {
			t.Fatalf("%v: error %v, want a usage error", args, err)
		}
		if out.Len() != 0 {
			t.Errorf("%v: printed %q", args, out.String())
		}
		if code := exitCode("meta", err, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		line := stderr.String()
		if strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, "meta: ") || !strings.Contains(line, "see meta -h") {
			t.Errorf("%v: stderr %q, want one line \"meta: ... (see meta -h)\"", args, line)
		}
	}
	var out, stderr bytes.Buffer
	err := Parse(newFS(&out), []string{"-h"})
	if code := exitCode("meta", err, &stderr); code != 0 || !strings.Contains(out.String(), "usage: meta") || stderr.Len() != 0 {
		t.Errorf("-h: exit %d, usage %q, stderr %q; want 0, the usage, nothing", code, out.String(), stderr.String())
	}
}

// TestCheckOutputs: output paths are refused before any work with a line
// naming the flag, and an existing file is kept unless replacing is asked.
func TestCheckOutputs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "afile")
	os.WriteFile(file, []byte("keep"), 0o644)
	if err := CheckDir("out", filepath.Join(file, "sub")); err == nil || !strings.Contains(err.Error(), "-out "+file) {
		t.Errorf("dir under a file: %v", err)
	}
	if err := CheckDir("out", filepath.Join(dir, "new", "deep")); err != nil {
		t.Errorf("new directory: %v", err)
	}
	if err := CheckFile("checkpoint", dir, false, ""); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("file that is a directory: %v", err)
	}
	if err := CheckFile("checkpoint", file, false, "add -resume"); err == nil || !strings.Contains(err.Error(), "add -resume") {
		t.Errorf("existing file: %v", err)
	}
	if err := CheckFile("checkpoint", file, true, ""); err != nil {
		t.Errorf("existing file, replace: %v", err)
	}
	if err := CheckFile("checkpoint", filepath.Join(file, "x.ckpt"), false, ""); err == nil {
		t.Errorf("file under a file: no error")
	}
	if os.Getuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o555)
		if err := CheckDir("out", ro); err == nil || !strings.Contains(err.Error(), "not writable") {
			t.Errorf("read-only directory: %v", err)
		}
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Errorf("checks changed an existing file: %q", b)
	}
}

// TestWriteJSON: the record is written whole, replaces an older one, and
// a failed write names the path and leaves no temporary file.
func TestWriteJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	for _, v := range []map[string]int{{"a": 1}, {"b": 2}} {
		if err := WriteJSON(path, v); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "{\n  \"b\": 2\n}\n" {
		t.Errorf("file holds %q", b)
	}
	if err := WriteJSON(filepath.Join(dir, "r.json", "x.json"), 1); err == nil || !strings.Contains(err.Error(), "x.json") {
		t.Errorf("write under a file: %v", err)
	}
	if err := WriteJSON(path, func() {}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a value JSON cannot hold: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory, want r.json alone", len(ents))
	}
}
