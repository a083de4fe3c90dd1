package data

import (
	"bytes"
	"fmt"
	"strings"
)

// MiniImageNetSplits are the sides of mini-ImageNet's split, each listed
// by DIR/<side>.csv.
var MiniImageNetSplits = [3]string{"train", "val", "test"}

// miniImageNetHeader is the first line of every split's CSV.
const miniImageNetHeader = "filename,label"

// maxMiniImageNetCSVBytes bounds the CSV files LoadMiniImageNet reads
// (Ravi & Larochelle's train.csv has 1.2 MB), so that a wrong file cannot
// ask for a large allocation.
const maxMiniImageNetCSVBytes = 64 << 20

// miniImageNetRow is one row of a split's CSV: an image file in images/
// and its class.
type miniImageNetRow struct {
	File string // e.g. "n0153282900000005.jpg"
	WNID string // e.g. "n01532829"
	Line int    // the row's line in the CSV, 2 for the first row
}

// parseMiniImageNetCSV parses the content b of a split's CSV, in the
// format of Ravi & Larochelle's files: the header line filename,label,
// then one line filename,label per image, where filename is the name of a
// file in images/ (no folder; any name the file system allows, but not
// one starting with a dot) and label a WordNet id (n and 8 digits, e.g.
// n01532829). Lines may end in CRLF, a UTF-8 byte-order mark before the
// header is ignored and so are blank lines at the end of the file; fields
// are not quoted. A file listed twice, a blank line between rows and a
// CSV of no rows are errors.
//
// Each error is one line saying which line is wrong and what was
// expected, e.g. `line 7 has 1 field ("n0153282900000005.j"), want 2:
// filename,label (the file ends there without a line end: was it cut
// short?)`; LoadMiniImageNet prefixes the file's path.
func parseMiniImageNetCSV(b []byte) ([]miniImageNetRow, error) {
	b = bytes.TrimPrefix(b, []byte("\uFEFF"))
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("is empty, want the header %q and a line filename,label per image", miniImageNetHeader)
	}
	text := string(b)
	cutShort := !strings.HasSuffix(text, "\n")
	text = strings.TrimSuffix(text, "\n")
	for { // blank lines at the end
		i := strings.LastIndexByte(text, '\n')
		if i < 0 || strings.TrimSpace(text[i+1:]) != "" {
			break
		}
		text, cutShort = text[:i], false
	}
	last := strings.Count(text, "\n") + 1 // the number of the last line
	// A row takes at least 11 bytes ("a,n01532829") and its line end, so
	// this bounds the rows however many blank lines there are.
	most := min(last-1, len(text)/12+1)
	rows := make([]miniImageNetRow, 0, most)
	first := make(map[string]int, most) // file name → its line
	n := 0
	for line := range strings.SplitSeq(text, "\n") {
		n++
		line = strings.TrimSuffix(line, "\r")
		if n == 1 {
			if line != miniImageNetHeader {
				return nil, fmt.Errorf("line 1 is %s, want the header %q", quoteLine(line), miniImageNetHeader)
			}
			continue
		}
		row, err := parseMiniImageNetRow(line)
		if err != nil {
			if cutShort && n == last {
				err = fmt.Errorf("%w (the file ends there without a line end: was it cut short?)", err)
			}
			return nil, fmt.Errorf("line %d %w", n, err)
		}
		if at, dup := first[row.File]; dup {
			return nil, fmt.Errorf("line %d lists %s again (first on line %d)", n, row.File, at)
		}
		first[row.File] = n
		row.Line = n
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("lists no images (only its header), want a line filename,label per image")
	}
	return rows, nil
}

// parseMiniImageNetRow parses one row, filename,label, without its line
// end. Its error completes "line N ...".
func parseMiniImageNetRow(line string) (miniImageNetRow, error) {
	if strings.TrimSpace(line) == "" {
		return miniImageNetRow{}, fmt.Errorf("is blank, want filename,label")
	}
	fields := strings.Split(line, ",")
	if len(fields) != 2 {
		s := "s"
		if len(fields) == 1 {
			s = ""
		}
		return miniImageNetRow{}, fmt.Errorf("has %d field%s (%s), want 2: filename,label", len(fields), s, quoteLine(line))
	}
	file, wnid := fields[0], fields[1]
	if !plainFileName(file) {
		return miniImageNetRow{}, fmt.Errorf("has file name %s, want the name of a file in images/ (no folder or control character, not starting with a dot)", quoteLine(file))
	}
	if !isWNID(wnid) {
		return miniImageNetRow{}, fmt.Errorf("has label %s, want a WordNet id: n and 8 digits, e.g. n01532829", quoteLine(wnid))
	}
	return miniImageNetRow{File: file, WNID: wnid}, nil
}

// plainFileName reports whether name can only name a file directly in
// images/: not empty, no folder separator or control character, not
// starting with a dot (which excludes "." and ".." and hidden files),
// no space at either end.
func plainFileName(name string) bool {
	if name == "" || strings.HasPrefix(name, ".") || strings.TrimSpace(name) != name {
		return false
	}
	for _, c := range name {
		if c == '/' || c == '\\' || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// isWNID reports whether s is a WordNet noun id: n and 8 digits.
func isWNID(s string) bool {
	if len(s) != 9 || s[0] != 'n' {
		return false
	}
	for _, c := range []byte(s[1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// quoteLine quotes s for an error message, Go-escaped so that it stays on
// one line, and cut to its first 80 bytes.
func quoteLine(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q…", s[:80])
	}
	return fmt.Sprintf("%q", s)
}

// checkMiniImageNetSplits checks that no class and no image file is in
// two of the splits' CSVs: rows[i] are the rows of MiniImageNetSplits[i].
// The error names the class or file, both CSVs and their lines.
func checkMiniImageNetSplits(rows [3][]miniImageNetRow) error {
	type where struct {
		split int
		line  int
	}
	class := map[string]where{}
	file := map[string]where{}
	for s, rs := range rows {
		for _, r := range rs {
			if w, ok := class[r.WNID]; ok && w.split != s {
				return fmt.Errorf("class %s is in both %s.csv (line %d) and %s.csv (line %d): the splits must not share classes",
					r.WNID, MiniImageNetSplits[w.split], w.line, MiniImageNetSplits[s], r.Line)
			} else if !ok {
				class[r.WNID] = where{s, r.Line}
			}
			if w, ok := file[r.File]; ok && w.split != s {
				return fmt.Errorf("image %s is in both %s.csv (line %d) and %s.csv (line %d)",
					r.File, MiniImageNetSplits[w.split], w.line, MiniImageNetSplits[s], r.Line)
			}
			file[r.File] = where{s, r.Line}
		}
	}
	return nil
}
