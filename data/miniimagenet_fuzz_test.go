package data

import (
	"slices"
	"strings"
	"testing"
)

// miniImageNetCSVSeeds are valid CSVs in the format of Ravi & Larochelle's
// files and broken variants: cut off, headerless, with CRLF and a
// byte-order mark, quoted fields, blank lines, a file twice, a path.
func miniImageNetCSVSeeds() map[string][]byte {
	ravi := "filename,label\nn0153282900000005.jpg,n01532829\nn0153282900000006.jpg,n01532829\nn0155899300000001.jpg,n01558993\n"
	return map[string][]byte{
		"ravi-like":         []byte(ravi),
		"cut within a row":  []byte(ravi[:len(ravi)-7]),
		"cut after a comma": []byte(ravi[:strings.LastIndexByte(ravi, ',')+1]),
		"no final newline":  []byte(strings.TrimSuffix(ravi, "\n")),
		"crlf and bom":      []byte("\uFEFF" + strings.ReplaceAll(ravi, "\n", "\r\n")),
		"headerless":        []byte(ravi[strings.IndexByte(ravi, '\n')+1:]),
		"quoted":            []byte("filename,label\n\"a.jpg\",\"n01532829\"\n"),
		"blank lines":       []byte("filename,label\n\na.jpg,n01532829\n\n\n"),
		"file twice":        []byte("filename,label\na.jpg,n01532829\na.jpg,n01558993\n"),
		"path":              []byte("filename,label\n../../etc/passwd,n01532829\n"),
		"header only":       []byte("filename,label\n"),
		"empty":             nil,
	}
}

// FuzzMiniImageNetCSV feeds arbitrary bytes to the CSV parser of
// mini-ImageNet's splits. It may not panic, hang or allocate more than a
// small multiple of its input; an error must be one line naming what is
// wrong; a success must be rows of plain file names, none twice, and
// WordNet ids on lines 2, 3, ..., that parse back to themselves when
// written out in the canonical form.
func FuzzMiniImageNetCSV(f *testing.F) {
	addSeeds(f, miniImageNetCSVSeeds())
	f.Fuzz(func(t *testing.T, data []byte) {
		var rows []miniImageNetRow
		// a copy of the text, the rows (40 bytes each, room for one per
		// 12 bytes of input) and the map of file names: about 8 bytes per
		// byte of input
		limit := uint64(fuzzAllocSlack + 16*len(data))
		err := checkBounded(t, "parseMiniImageNetCSV", limit, func() error {
			var err error
			rows, err = parseMiniImageNetCSV(data)
			return err
		})
		if err != nil {
			if rows != nil {
				t.Fatalf("rows %v with error %v", rows, err)
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("no rows and no error")
		}
		seen := map[string]bool{}
		canonical := []string{miniImageNetHeader}
		for i, r := range rows {
			if !plainFileName(r.File) || !isWNID(r.WNID) || seen[r.File] || r.Line != i+2 {
				t.Fatalf("row %d: %+v", i, r)
			}
			seen[r.File] = true
			canonical = append(canonical, r.File+","+r.WNID)
		}
		again, err := parseMiniImageNetCSV([]byte(strings.Join(canonical, "\n") + "\n"))
		if err != nil {
			t.Fatalf("the rows written out do not parse: %v", err)
		}
		if !slices.Equal(again, rows) {
			t.Fatalf("rows %v written out parse as %v", rows, again)
		}
	})
}
