package data

import (
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// DefaultOmniglotSize is the side of the images LoadOmniglot returns when
// OmniglotOptions.Size is zero: 28×28, as Vinyals et al. 2016, Finn et al.
// 2017 and Snell et al. 2017 use.
const DefaultOmniglotSize = 28

// MaxOmniglotSize is the largest OmniglotOptions.Size LoadOmniglot accepts.
const MaxOmniglotSize = 1024

// OmniglotSets are the names of Omniglot's two sets, in the order
// LoadOmniglot reads them: the zip of set s is images_<s>.zip.
var OmniglotSets = [2]string{"background", "evaluation"}

// Limits on the zip entries LoadOmniglot decodes, so that a damaged or
// hostile archive cannot ask for an absurd allocation (checkPNGData also
// refuses a PNG whose header claims more pixels than its data can hold).
// Omniglot's PNGs are 105×105 and a few hundred bytes each.
const (
	maxOmniglotEntryBytes = 16 << 20
	maxOmniglotImageSide  = 4096
)

// omniglotHint tells the user how to get the data.
const omniglotHint = "run scripts/download_omniglot.sh DIR " + scriptHome + " or set OMNIGLOT_DIR"

// OmniglotOptions sets how LoadOmniglot prepares the images. The zero value
// gives 28×28 images and caches them under the user's cache directory.
type OmniglotOptions struct {
	// Size is the side of the square output images. If zero, a default of
	// 28 is used. It must be in 1..1024.
	Size int
	// CacheDir is where the decoded arrays are cached. If empty,
	// os.UserCacheDir()/metagon is used (no cache if there is no user cache
	// directory); "-" disables the cache. It keeps at most
	// MaxOmniglotCacheFiles cache files, the most recently used.
	CacheDir string
	// Filter is the resize filter, FilterArea or FilterLanczos. If empty,
	// a default of FilterArea is used.
	Filter string
}

// Omniglot is the Omniglot data set (Lake, Salakhutdinov & Tenenbaum 2015)
// held in memory: 1,623 handwritten characters from 50 alphabets, 20
// drawings each, resized and inverted so that pen strokes are 1 and the
// background is 0.
type Omniglot struct {
	// Size is the side of every image: each image has Size*Size pixels,
	// row-major, with values in [0,1].
	Size int
	// Chars holds the characters of both sets, sorted by ID.
	Chars []OmniglotChar

	// CachePath is the cache file this load read or wrote, or "" if the
	// cache was disabled.
	CachePath string
	// FromCache reports whether the images came from CachePath rather than
	// from decoding the zips.
	FromCache bool
	// CacheError is the cache problem this load met, if any: a cache file
	// that was ignored as invalid, or one that could not be written. Cache
	// problems never fail a load.
	CacheError error
}

// OmniglotChar is one character of Omniglot and its drawings.
type OmniglotChar struct {
	// Set is the set the character belongs to: "background" or
	// "evaluation".
	Set string
	// Alphabet is the alphabet's folder name, e.g. "Latin".
	Alphabet string
	// Character is the character's folder name, e.g. "character01".
	Character string
	// ID is the global character id, 1..1623, from the file names IIII_DD.png.
	ID int
	// Images holds the drawings in drawer order (DD = 01..20), each Size*Size
	// pixels. The images of all characters share one backing array; each
	// slice's capacity ends with its image.
	Images [][]float32
}

// Name returns the character's path inside its set, Alphabet/Character.
func (c *OmniglotChar) Name() string { return c.Alphabet + "/" + c.Character }

// Counts returns how many alphabets, characters and images set holds
// ("background" or "evaluation"; "" counts both).
func (o *Omniglot) Counts(set string) (alphabets, characters, images int) {
	seen := make(map[string]bool)
	for i := range o.Chars {
		c := &o.Chars[i]
		if set != "" && c.Set != set {
			continue
		}
		seen[c.Set+"/"+c.Alphabet] = true
		characters++
		images += len(c.Images)
	}
	return len(seen), characters, images
}

// LoadOmniglot loads both Omniglot sets from images_background.zip and
// images_evaluation.zip in dir, the zips of github.com/brendenlake/omniglot
// (scripts/download_omniglot.sh fetches them). The zips are read as they
// are, without unpacking them: each entry images_<set>/<Alphabet>/
// characterNN/IIII_DD.png is one drawing (IIII the global character id, DD
// the drawer); other entries are ignored.
//
// Each PNG is decoded (any PNG works; Omniglot's are 1-bit 105×105 greyscale,
// black strokes on white), converted to grey, resized to Size×Size with an
// exact area-averaging (box) filter, so that each output pixel is the mean
// of the input area it covers, partial pixels weighted by their overlap,
// and inverted so that strokes are 1 and the background 0. This is the
// built-in "box-nopil" resize of the PyTorch peers (shared/peers/common.py);
// it preserves the mean ink of every image. The PNGs are decoded on all
// cores (GOMAXPROCS goroutines).
//
// It checks that every character folder's files share one id and that ids
// and drawers are not repeated, but not the number of characters or
// drawings. A missing zip, a file that is not a zip, a truncated zip and a
// corrupt entry or PNG are errors naming the file and entry.
//
// Unless o.CacheDir is "-", the decoded arrays are cached; see
// OmniglotCachePath. A valid cache file is used instead of the zips (of
// which only the central directories are then read, for the cache key), so
// that a second load takes a fraction of a second; an invalid one is
// ignored and replaced. After writing a cache file, LoadOmniglot deletes
// all but the MaxOmniglotCacheFiles most recently used in the directory.
func LoadOmniglot(dir string, o OmniglotOptions) (*Omniglot, error) {
	size := o.Size
	if size == 0 {
		size = DefaultOmniglotSize
	}
	if size < 1 || size > MaxOmniglotSize {
		return nil, fmt.Errorf("load omniglot: image size %d out of range 1..%d", size, MaxOmniglotSize)
	}
	filter, err := omniglotFilter(o.Filter)
	if err != nil {
		return nil, err
	}

	var zips [2]string
	for i, set := range OmniglotSets {
		zips[i] = filepath.Join(dir, "images_"+set+".zip")
		st, err := os.Stat(zips[i])
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if !isDir(dir) {
				return nil, fmt.Errorf("load omniglot %s: %w (no directory %s); %s", zips[i], fs.ErrNotExist, dir, omniglotHint)
			}
			return nil, fmt.Errorf("load omniglot %s: %w; %s", zips[i], fs.ErrNotExist, omniglotHint)
		case err != nil:
			return nil, fmt.Errorf("load omniglot: %w", err)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("load omniglot %s: not a regular file; %s", zips[i], omniglotHint)
		}
	}

	// On a cache key error there is no cache; decoding says what is wrong
	// with the zip.
	cachePath, cacheErr := omniglotCacheFile(o.CacheDir, size, filter, zips)
	if cachePath != "" {
		switch om, err := readOmniglotCache(cachePath, size); {
		case err == nil:
			touchOmniglotCache(cachePath)
			om.CachePath, om.FromCache = cachePath, true
			return om, nil
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			// No cache yet.
		case errors.Is(err, errInvalidCache):
			cacheErr = fmt.Errorf("ignored cache file %s: %w", cachePath, err)
		default:
			cacheErr = fmt.Errorf("cannot read cache file: %w", err)
		}
	}

	om, err := decodeOmniglot(zips, size, filter)
	if err != nil {
		return nil, err
	}
	om.CachePath = cachePath
	if cachePath != "" {
		err := writeOmniglotCache(cachePath, om)
		if err == nil {
			err = pruneOmniglotCache(filepath.Dir(cachePath), cachePath)
		}
		if err != nil {
			cacheErr = errors.Join(cacheErr, err)
		}
	}
	om.CacheError = cacheErr
	return om, nil
}

// omniglotJob is one PNG to decode: entry f of a zip becomes image img of
// character char.
type omniglotJob struct {
	f         *zip.File
	zipPath   string
	char, img int
}

// omniglotZip is one opened Omniglot zip: its path, named in errors, and
// its reader.
type omniglotZip struct {
	path string
	r    *zip.Reader
}

// decodeOmniglot reads the two zips and decodes their PNGs into size×size
// images. It opens both zips before decoding anything, so that a missing or
// broken second zip is reported at once.
func decodeOmniglot(zips [2]string, size int, filter string) (*Omniglot, error) {
	var opened [2]omniglotZip
	for i, p := range zips {
		zr, closeZip, err := openZip(p)
		if err != nil {
			return nil, err
		}
		defer closeZip()
		opened[i] = omniglotZip{p, zr}
	}
	return decodeOmniglotZips(opened, size, filter)
}

// decodeOmniglotZips decodes the PNGs of the background and evaluation
// zips into size×size images.
func decodeOmniglotZips(zips [2]omniglotZip, size int, filter string) (*Omniglot, error) {
	type drawing struct {
		f       *zip.File
		zipPath string
		drawer  int
	}
	type charKey struct{ set, alphabet, character string }
	type charInfo struct {
		key      charKey
		id       int
		drawings []drawing
	}
	chars := make(map[charKey]*charInfo)

	for i, set := range OmniglotSets {
		zipPath := zips[i].path
		n := 0
		for _, f := range zips[i].r.File {
			alphabet, character, id, drawer, ok, err := parseOmniglotEntry(f.Name, set)
			if err != nil {
				return nil, fmt.Errorf("load omniglot %s: entry %s: %w", zipPath, f.Name, err)
			}
			if !ok {
				continue
			}
			k := charKey{set, alphabet, character}
			c := chars[k]
			if c == nil {
				c = &charInfo{key: k, id: id}
				chars[k] = c
			} else if c.id != id {
				return nil, fmt.Errorf("load omniglot %s: entry %s: character id %04d differs from id %04d of the folder's other files",
					zipPath, f.Name, id, c.id)
			}
			c.drawings = append(c.drawings, drawing{f, zipPath, drawer})
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("load omniglot %s: no entries images_%s/<Alphabet>/characterNN/IIII_DD.png in the zip; %s",
				zipPath, set, omniglotHint)
		}
	}

	list := make([]*charInfo, 0, len(chars))
	for _, c := range chars {
		list = append(list, c)
	}
	slices.SortFunc(list, func(a, b *charInfo) int {
		return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.key.set, b.key.set),
			cmp.Compare(a.key.alphabet, b.key.alphabet), cmp.Compare(a.key.character, b.key.character))
	})
	total := 0
	for i, c := range list {
		if i > 0 && list[i-1].id == c.id {
			p := list[i-1]
			return nil, fmt.Errorf("load omniglot: character id %04d is used by both images_%s/%s/%s and images_%s/%s/%s",
				c.id, p.key.set, p.key.alphabet, p.key.character, c.key.set, c.key.alphabet, c.key.character)
		}
		slices.SortFunc(c.drawings, func(a, b drawing) int { return a.drawer - b.drawer })
		for j := 1; j < len(c.drawings); j++ {
			if c.drawings[j].drawer == c.drawings[j-1].drawer {
				return nil, fmt.Errorf("load omniglot %s: entries %s and %s are both drawing %02d of character %04d",
					c.drawings[j].zipPath, c.drawings[j-1].f.Name, c.drawings[j].f.Name, c.drawings[j].drawer, c.id)
			}
		}
		total += len(c.drawings)
	}

	d := size * size
	if total > math.MaxInt/d {
		return nil, fmt.Errorf("load omniglot: %d images of %d×%d pixels are too many for this platform", total, size, size)
	}
	pix := make([]float32, total*d)
	om := &Omniglot{Size: size, Chars: make([]OmniglotChar, len(list))}
	jobs := make([]omniglotJob, 0, total)
	k := 0
	for i, c := range list {
		oc := &om.Chars[i]
		*oc = OmniglotChar{Set: c.key.set, Alphabet: c.key.alphabet, Character: c.key.character, ID: c.id,
			Images: make([][]float32, len(c.drawings))}
		for j, dr := range c.drawings {
			oc.Images[j] = pix[k*d : (k+1)*d : (k+1)*d]
			jobs = append(jobs, omniglotJob{f: dr.f, zipPath: dr.zipPath, char: i, img: j})
			k++
		}
	}

	if err := runOmniglotJobs(jobs, om, filter); err != nil {
		return nil, err
	}
	return om, nil
}

// runOmniglotJobs decodes the jobs on GOMAXPROCS goroutines. On failure it
// returns the error of the first failing job (in job order) among those
// run; the others stop early.
func runOmniglotJobs(jobs []omniglotJob, om *Omniglot, filter string) error {
	workers := max(1, min(runtime.GOMAXPROCS(0), len(jobs)))
	var next atomic.Int64
	var failed atomic.Bool
	var mu sync.Mutex
	firstErr, firstIdx := error(nil), len(jobs)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var buf bytes.Buffer
			var r imageResizer = newBoxResizer()
			if filter == FilterLanczos {
				r = newLanczosResizer()
			}
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := &jobs[i]
				err := decodeOmniglotEntry(j.f, &buf, r, om.Chars[j.char].Images[j.img], om.Size)
				if err != nil {
					mu.Lock()
					if i < firstIdx {
						firstIdx = i
						firstErr = fmt.Errorf("load omniglot %s: entry %s: %w", j.zipPath, j.f.Name, err)
					}
					mu.Unlock()
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// decodeOmniglotEntry reads and decodes one PNG entry into dst, a
// size×size image. buf and r are the worker's scratch space.
func decodeOmniglotEntry(f *zip.File, buf *bytes.Buffer, r imageResizer, dst []float32, size int) error {
	if f.UncompressedSize64 > maxOmniglotEntryBytes {
		return fmt.Errorf("implausibly large PNG (%d bytes, limit %d)", f.UncompressedSize64, maxOmniglotEntryBytes)
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(rc, maxOmniglotEntryBytes+1))
	rc.Close()
	if err != nil {
		return fmt.Errorf("read: %w", err) // includes zip.ErrChecksum and flate errors
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return fmt.Errorf("corrupt PNG: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxOmniglotImageSide || cfg.Height > maxOmniglotImageSide {
		return fmt.Errorf("implausible PNG size %d×%d (want 1..%d each)", cfg.Width, cfg.Height, maxOmniglotImageSide)
	}
	if err := checkPNGData(buf.Bytes()); err != nil {
		return err // before png.Decode allocates the image the header claims
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return fmt.Errorf("corrupt PNG: %w", err)
	}
	r.resizeImage(img, dst, size)
	return nil
}

// imageResizer writes the ink of an image (1 − grey/255), resized to
// size×size, to dst: boxResizer (FilterArea) or lanczosResizer.
type imageResizer interface {
	resizeImage(img image.Image, dst []float32, size int)
}

// inkOfGrey64 and inkOfGrey32 hold the ink 1 − v/255 of every grey level
// v, in float64 (the area filter's sums) and float32.
var inkOfGrey64, inkOfGrey32 = func() (i64 [256]float64, i32 [256]float32) {
	for v := range 256 {
		i64[v], i32[v] = 1-float64(v)/255, 1-float32(v)/255
	}
	return
}()

// toGray returns img as an 8-bit grey image whose rectangle starts at
// (0, 0): img itself when it is one already, else a conversion held in
// buf's storage (grown as needed and returned for reuse).
func toGray(img image.Image, buf []uint8) (*image.Gray, []uint8) {
	if g, ok := img.(*image.Gray); ok && g.Rect.Min == (image.Point{}) {
		return g, buf
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if cap(buf) < w*h {
		buf = make([]uint8, w*h)
	}
	buf = buf[:w*h]
	for y := range h {
		for x := range w {
			buf[y*w+x] = color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
		}
	}
	return &image.Gray{Pix: buf, Stride: w, Rect: image.Rect(0, 0, w, h)}, buf
}

// resizeImage writes the ink of img (1 − grey/255), resized to size×size
// by area averaging, to dst.
func (r *boxResizer) resizeImage(img image.Image, dst []float32, size int) {
	var g *image.Gray
	g, r.grey = toGray(img, r.grey)
	r.resizeGray(g, dst, size)
}

// boxTap is one weight of a 1-D area-averaging filter: input cell i adds
// w·in[i] to output cell o.
type boxTap struct {
	o int
	w float64
}

// newBoxTaps returns the filter that maps n input cells onto m output cells
// of width n/m input cells each, listed per input cell: output o covers
// [o·n/m, (o+1)·n/m), and input cell i contributes to it with the weight
// (overlap of [i, i+1) with that interval) / (n/m), so the weights into
// every output sum to 1. It is the transpose of box_matrix in
// shared/peers/common.py.
func newBoxTaps(n, m int) [][]boxTap {
	taps := make([][]boxTap, n)
	scale := float64(n) / float64(m)
	for o := range m {
		lo, hi := float64(o)*scale, float64(o+1)*scale
		first, last := int(math.Floor(lo)), min(n, int(math.Ceil(hi)))
		var sum float64
		for i := first; i < last; i++ {
			sum += max(0, min(hi, float64(i+1))-max(lo, float64(i)))
		}
		for i := first; i < last; i++ {
			if overlap := min(hi, float64(i+1)) - max(lo, float64(i)); overlap > 0 {
				taps[i] = append(taps[i], boxTap{o, overlap / sum})
			}
		}
	}
	return taps
}

// boxResizer resizes images with area-averaging filters, keeping the
// filters of the sizes it has seen. It is not safe for concurrent use.
type boxResizer struct {
	filters map[[2]int][][]boxTap
	acc     []float64
	grey    []uint8
}

func newBoxResizer() *boxResizer { return &boxResizer{filters: make(map[[2]int][][]boxTap)} }

func (r *boxResizer) taps(n, m int) [][]boxTap { return memoTaps(r.filters, n, m, newBoxTaps) }

// memoTaps returns the filter from n to m cells kept in cache, building it
// with build on first use.
func memoTaps[F any](cache map[[2]int]F, n, m int, build func(n, m int) F) F {
	k := [2]int{n, m}
	f, ok := cache[k]
	if !ok {
		f = build(n, m)
		cache[k] = f
	}
	return f
}

// resizeGray writes the size×size area average of the ink of g (whose
// rectangle starts at (0, 0)),
// 1 − grey/255, to dst: each output pixel is the mean ink over its
// rectangle, input pixels cut by the rectangle's edges weighted by the area
// inside it. Each inked input pixel is spread over the (at most 2×2, when
// shrinking) output pixels it overlaps, and white pixels are skipped eight
// at a time, which is fast for sparse images such as Omniglot's strokes;
// sums are taken in float64.
func (r *boxResizer) resizeGray(g *image.Gray, dst []float32, size int) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	tx, ty := r.taps(w, size), r.taps(h, size)
	if cap(r.acc) < size*size {
		r.acc = make([]float64, size*size)
	}
	acc := r.acc[:size*size]
	clear(acc)
	for y := range h {
		row := g.Pix[y*g.Stride : y*g.Stride+w]
		for x := 0; x < w; x++ {
			if x+8 <= w && binary.LittleEndian.Uint64(row[x:]) == math.MaxUint64 {
				x += 7 // eight white pixels
				continue
			}
			v := inkOfGrey64[row[x]]
			if v == 0 {
				continue
			}
			for _, a := range ty[y] {
				out := acc[a.o*size : (a.o+1)*size]
				av := a.w * v
				for _, b := range tx[x] {
					out[b.o] += av * b.w
				}
			}
		}
	}
	for i, v := range acc {
		dst[i] = float32(v)
	}
}

// openZip opens the zip archive at p for reading; closeZip closes the
// file. Errors are newZipReader's.
func openZip(p string) (zr *zip.Reader, closeZip func() error, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, fmt.Errorf("load omniglot %s: %w", p, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("load omniglot %s: %w", p, err)
	}
	if zr, err = newZipReader(p, f, st.Size()); err != nil {
		f.Close()
		return nil, nil, err
	}
	return zr, f.Close, nil
}

// newZipReader reads the central directory of the zip archive r, size bytes
// long, telling a truncated zip from one that is not a zip at all. p names
// the archive in errors.
func newZipReader(p string, r io.ReaderAt, size int64) (*zip.Reader, error) {
	zr, err := zip.NewReader(r, size)
	if err == nil {
		return zr, nil
	}
	if errors.Is(err, zip.ErrFormat) {
		var head [4]byte
		if n, _ := r.ReadAt(head[:], 0); n == 4 && string(head[:]) == "PK\x03\x04" {
			return nil, fmt.Errorf("load omniglot %s: truncated or damaged zip archive (it starts like a zip but its central directory is missing or broken): %w; delete it and %s",
				p, err, omniglotHint)
		}
		return nil, fmt.Errorf("load omniglot %s: is not a zip archive: %w; %s", p, err, omniglotHint)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("load omniglot %s: truncated zip archive: %w; delete it and %s", p, err, omniglotHint)
	}
	return nil, fmt.Errorf("load omniglot %s: %w", p, err)
}

// parseOmniglotEntry parses a zip entry name of the form
// [prefix/]images_<set>/<Alphabet>/<Character>/IIII_DD.png. ok is false for
// entries to skip: directories, other files, other sets, and macOS
// metadata (__MACOSX/, ._*). err is set for a PNG in the right place whose
// name is not IIII_DD.png.
func parseOmniglotEntry(name, set string) (alphabet, character string, id, drawer int, ok bool, err error) {
	if strings.HasSuffix(name, "/") || !strings.HasSuffix(strings.ToLower(name), ".png") {
		return "", "", 0, 0, false, nil
	}
	parts := strings.Split(name, "/")
	if len(parts) < 4 || slices.Contains(parts, "__MACOSX") {
		return "", "", 0, 0, false, nil
	}
	n := len(parts)
	top, alphabet, character, file := parts[n-4], parts[n-3], parts[n-2], parts[n-1]
	if top != "images_"+set || strings.HasPrefix(file, ".") || alphabet == "" || character == "" {
		return "", "", 0, 0, false, nil
	}
	stem := strings.TrimSuffix(file, path.Ext(file))
	a, b, found := strings.Cut(stem, "_")
	id, err1 := strconv.Atoi(a)
	drawer, err2 := strconv.Atoi(b)
	if !found || err1 != nil || err2 != nil || id < 1 || drawer < 1 {
		return "", "", 0, 0, false, fmt.Errorf("file name %q is not IIII_DD.png (character id, drawer)", file)
	}
	return alphabet, character, id, drawer, true, nil
}

// FindOmniglotDir resolves the Omniglot directory (the one holding
// images_background.zip and images_evaluation.zip) the way metagon's tools
// do. A non-empty flagValue wins and must name an existing directory.
// Otherwise it returns the first existing directory of $OMNIGLOT_DIR,
// $METAGON_DATA/omniglot and the default download location of
// scripts/download_omniglot.sh, ${XDG_CACHE_HOME:-$HOME/.cache}/metagon/omniglot.
// The error names everything tried.
func FindOmniglotDir(flagValue string) (string, error) { return omniglotSet.find(flagValue) }

// ---------------------------------------------------------------------------
// Cache

// Cache file format, version 1. All integers are little-endian.
//
//	magic   [8]byte  "MGOMNIGL"
//	version uint32   1
//	size    uint32   image side
//	nchars  uint32   number of characters
//	nimages uint32   number of images in all
//	nchars times:
//	  set       uint8   0 background, 1 evaluation
//	  id        uint32
//	  nimg      uint32  drawings of the character
//	  alphabet  uint16 length + bytes
//	  character uint16 length + bytes
//	nimages*size*size float32 pixels, characters in order, drawings in order
//	crc     uint32   CRC-32 (Castagnoli) of everything before it
const (
	omniglotCacheMagic   = "MGOMNIGL"
	omniglotCacheVersion = 1
	maxOmniglotCacheN    = 10_000_000
)

var omniglotCRCTable = crc32.MakeTable(crc32.Castagnoli)

// omniglotCacheDir resolves OmniglotOptions.CacheDir; ok is false when the
// cache is off.
func omniglotCacheDir(opt string) (dir string, ok bool) {
	switch opt {
	case "-":
		return "", false
	case "":
		base, err := os.UserCacheDir()
		if err != nil || base == "" {
			return "", false
		}
		return filepath.Join(base, "metagon"), true
	}
	return opt, true
}

// omniglotCacheName returns the cache file name for images of the given
// size and filter decoded from zips with the given content key
// (omniglotCacheKey): omniglot-<size>-<key>.bin, or
// omniglot-<size>-<filter>-<key>.bin for filters other than FilterArea.
// Copies of the same zips share one cache file; changed zips get a new one,
// and pruneOmniglotCache deletes the least recently used.
func omniglotCacheName(size int, filter, key string) string {
	if filter != FilterArea { // area images keep the names they always had
		return fmt.Sprintf("omniglot-%d-%s-%s.bin", size, filter, key)
	}
	return fmt.Sprintf("omniglot-%d-%s.bin", size, key)
}

// omniglotCacheFile returns the cache file for images of the given size
// and filter decoded from zips, or "" if the CacheDir option cacheDirOpt
// disables the cache.
func omniglotCacheFile(cacheDirOpt string, size int, filter string, zips [2]string) (string, error) {
	cacheDir, ok := omniglotCacheDir(cacheDirOpt)
	if !ok {
		return "", nil
	}
	key, err := omniglotCacheKey(zips)
	if err != nil {
		return "", err
	}
	return filepath.Join(cacheDir, omniglotCacheName(size, filter, key)), nil
}

// OmniglotCachePath returns the cache file LoadOmniglot(dir, o) reads and
// writes, or "" if o disables the cache. It reads the central directories
// of the zips in dir (omniglotCacheKey).
func OmniglotCachePath(dir string, o OmniglotOptions) (string, error) {
	size := o.Size
	if size == 0 {
		size = DefaultOmniglotSize
	}
	filter, err := omniglotFilter(o.Filter)
	if err != nil {
		return "", err
	}
	var zips [2]string
	for i, set := range OmniglotSets {
		zips[i] = filepath.Join(dir, "images_"+set+".zip")
	}
	return omniglotCacheFile(o.CacheDir, size, filter, zips)
}

// writeOmniglotCache writes om to path atomically: to a temporary file in
// the same directory, then renamed over path.
func writeOmniglotCache(path string, om *Omniglot) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write omniglot cache: %w", err)
	}
	f, err := os.CreateTemp(dir, ".omniglot-*.tmp")
	if err != nil {
		return fmt.Errorf("write omniglot cache: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("write omniglot cache %s: %w", path, err)
		}
	}()
	crc := crc32.New(omniglotCRCTable)
	bw := bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)
	le := binary.LittleEndian
	var scratch [8]byte
	put32 := func(v uint32) { le.PutUint32(scratch[:4], v); bw.Write(scratch[:4]) }
	putStr := func(s string) error {
		if len(s) > math.MaxUint16 {
			return fmt.Errorf("name %q too long", s)
		}
		le.PutUint16(scratch[:2], uint16(len(s)))
		bw.Write(scratch[:2])
		bw.WriteString(s)
		return nil
	}
	nimg := 0
	for i := range om.Chars {
		nimg += len(om.Chars[i].Images)
	}
	bw.WriteString(omniglotCacheMagic)
	put32(omniglotCacheVersion)
	put32(uint32(om.Size))
	put32(uint32(len(om.Chars)))
	put32(uint32(nimg))
	for i := range om.Chars {
		c := &om.Chars[i]
		set := slices.Index(OmniglotSets[:], c.Set)
		if set < 0 {
			return fmt.Errorf("character %d has unknown set %q", c.ID, c.Set)
		}
		bw.WriteByte(byte(set))
		put32(uint32(c.ID))
		put32(uint32(len(c.Images)))
		if err := putStr(c.Alphabet); err != nil {
			return err
		}
		if err := putStr(c.Character); err != nil {
			return err
		}
	}
	d := om.Size * om.Size
	chunk := make([]byte, 0, 4*d)
	for i := range om.Chars {
		for _, im := range om.Chars[i].Images {
			if len(im) != d {
				return fmt.Errorf("character %d has an image of %d pixels, want %d", om.Chars[i].ID, len(im), d)
			}
			chunk = chunk[:0]
			for _, v := range im {
				chunk = le.AppendUint32(chunk, math.Float32bits(v))
			}
			bw.Write(chunk)
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	le.PutUint32(scratch[:4], crc.Sum32())
	if _, err := f.Write(scratch[:4]); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// errInvalidCache marks a cache file whose content is not a valid cache.
var errInvalidCache = errors.New("invalid cache file")

// readOmniglotCache reads a cache file written by writeOmniglotCache for
// images of the given size. Any deviation from the format (wrong magic,
// version or size, a length that does not match the header, a bad
// checksum) is an error wrapping errInvalidCache; failures to open or stat
// the file are *fs.PathError (a missing file satisfies errors.Is(err,
// fs.ErrNotExist)).
func readOmniglotCache(path string, size int) (*Omniglot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return decodeOmniglotCache(bufio.NewReaderSize(f, 1<<20), st.Size(), size)
}

// decodeOmniglotCache reads a cache file of fileSize bytes from r, for
// images of the given size. Every error wraps errInvalidCache. Nothing is
// allocated for the counts in the header before they are checked against
// fileSize, so memory stays proportional to the bytes present.
func decodeOmniglotCache(r io.Reader, fileSize int64, size int) (*Omniglot, error) {
	om, err := decodeOmniglotCacheData(r, fileSize, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidCache, err)
	}
	return om, nil
}

// decodeOmniglotCacheData is decodeOmniglotCache without errInvalidCache.
func decodeOmniglotCacheData(r io.Reader, fileSize int64, size int) (*Omniglot, error) {
	crc := crc32.New(omniglotCRCTable)
	tr := io.TeeReader(r, crc) // hashes exactly the bytes consumed
	le := binary.LittleEndian
	var hdr [24]byte
	if _, err := io.ReadFull(tr, hdr[:]); err != nil {
		return nil, fmt.Errorf("truncated header")
	}
	if string(hdr[:8]) != omniglotCacheMagic {
		return nil, fmt.Errorf("bad magic %q", hdr[:8])
	}
	if v := le.Uint32(hdr[8:]); v != omniglotCacheVersion {
		return nil, fmt.Errorf("format version %d, want %d", v, omniglotCacheVersion)
	}
	if s := le.Uint32(hdr[12:]); s != uint32(size) {
		return nil, fmt.Errorf("image size %d, want %d", s, size)
	}
	nchars, nimg := le.Uint32(hdr[16:]), le.Uint32(hdr[20:])
	if nchars == 0 || nchars > maxOmniglotCacheN || nimg > maxOmniglotCacheN || nimg < nchars {
		return nil, fmt.Errorf("implausible counts in header: %d characters, %d images", nchars, nimg)
	}
	d := int64(size) * int64(size)
	// The header's counts must fit the file before anything is allocated
	// for them: the header, at least 13 bytes per character table entry,
	// the pixels and the checksum.
	if minSize := 24 + 13*int64(nchars) + 4*d*int64(nimg) + 4; minSize > fileSize {
		return nil, fmt.Errorf("truncated: header announces %d characters and %d images of %d×%d (at least %d bytes), file has %d bytes",
			nchars, nimg, size, size, minSize, fileSize)
	}
	var scratch [9]byte
	readStr := func() (string, error) {
		if _, err := io.ReadFull(tr, scratch[:2]); err != nil {
			return "", err
		}
		b := make([]byte, le.Uint16(scratch[:2]))
		if _, err := io.ReadFull(tr, b); err != nil {
			return "", err
		}
		return string(b), nil
	}
	om := &Omniglot{Size: size, Chars: make([]OmniglotChar, nchars)}
	sum := 0
	for i := range om.Chars {
		if _, err := io.ReadFull(tr, scratch[:9]); err != nil {
			return nil, fmt.Errorf("truncated character table")
		}
		set, id, n := int(scratch[0]), int(le.Uint32(scratch[1:])), le.Uint32(scratch[5:])
		alphabet, err := readStr()
		if err != nil {
			return nil, fmt.Errorf("truncated character table")
		}
		character, err := readStr()
		if err != nil {
			return nil, fmt.Errorf("truncated character table")
		}
		if set >= len(OmniglotSets) || n == 0 || uint64(sum)+uint64(n) > uint64(nimg) || (i > 0 && id <= om.Chars[i-1].ID) {
			return nil, fmt.Errorf("bad entry %d in the character table", i)
		}
		om.Chars[i] = OmniglotChar{Set: OmniglotSets[set], Alphabet: alphabet, Character: character, ID: id,
			Images: make([][]float32, n)}
		sum += int(n)
	}
	if sum != int(nimg) {
		return nil, fmt.Errorf("character table holds %d images, header says %d", sum, nimg)
	}
	pix := make([]float32, int64(nimg)*d)
	chunk := make([]byte, 1<<16)
	for off := 0; off < len(pix); {
		n := min(len(chunk)/4, len(pix)-off)
		if _, err := io.ReadFull(tr, chunk[:4*n]); err != nil {
			return nil, fmt.Errorf("truncated pixel data")
		}
		for k := range n {
			pix[off+k] = math.Float32frombits(le.Uint32(chunk[4*k:]))
		}
		off += n
	}
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil {
		return nil, fmt.Errorf("truncated: no checksum")
	}
	if n, _ := io.ReadFull(r, tail[:1]); n != 0 {
		return nil, fmt.Errorf("unexpected data after the checksum")
	}
	if got, want := crc.Sum32(), le.Uint32(tail[:]); got != want {
		return nil, fmt.Errorf("checksum mismatch (corrupt file)")
	}
	k := int64(0)
	for i := range om.Chars {
		for j := range om.Chars[i].Images {
			om.Chars[i].Images[j] = pix[k*d : (k+1)*d : (k+1)*d]
			k++
		}
	}
	return om, nil
}
