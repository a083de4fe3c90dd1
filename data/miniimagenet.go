package data

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// The shape of a mini-ImageNet image: 3 channels of 84×84 bytes, stored
// channel by channel (red, green, blue), each row by row, as CIFAR's.
const (
	MiniImageNetSide       = 84
	MiniImageNetImageBytes = CIFARChannels * MiniImageNetSide * MiniImageNetSide // 21,168
)

// miniImageNetHint tells the user how to get the data.
const miniImageNetHint = "run scripts/download_miniimagenet.sh YOUR_COPY DIR " + scriptHome + " or set MINIIMAGENET_DIR"

// MiniImageNetOptions sets how LoadMiniImageNet caches the decoded images
// and reports its progress. The zero value caches them under the user's
// cache directory and logs nothing.
type MiniImageNetOptions struct {
	// CacheDir is where the decoded images are cached. If empty,
	// os.UserCacheDir()/metagon is used (no cache if there is no user
	// cache directory); "-" disables the cache. It keeps at most
	// MaxMiniImageNetCacheFiles cache files, the most recently used.
	CacheDir string
	// Log, if not nil, is told when the images are decoded rather than
	// read from the cache (minutes for the whole data set) and of cache
	// problems.
	Log logrus.FieldLogger
}

// MiniImageNet is mini-ImageNet (Vinyals et al., "Matching Networks for
// One Shot Learning", NeurIPS 2016) as its CSVs split it, held in memory
// as bytes: 84×84 colour images, converted to floats only when an
// episode is filled. With Ravi & Larochelle's CSVs (ICLR 2017), the split
// the literature uses, it is 64 training, 16 validation and 20 test
// classes of 600 images each, 60,000 images in all (1.3 GB).
type MiniImageNet struct {
	// Train, Valid and Test are the classes of train.csv, val.csv and
	// test.csv, in the order of their first rows.
	Train, Valid, Test []MiniImageNetClass
	// Norm is the per-channel mean and standard deviation of the training
	// classes' images (MiniImageNetClassesNorm), which normalises every
	// class.
	Norm ChannelNorm
	// RaviSplit reports whether the CSVs' classes are those of
	// RaviMiniImageNetClasses, side by side; RaviCSVs whether the CSVs are
	// byte for byte Ravi & Larochelle's (RaviMiniImageNetCSVSHA256).
	RaviSplit, RaviCSVs bool

	// CachePath is the cache file this load read or wrote, or "" if the
	// cache was disabled.
	CachePath string
	// FromCache reports whether the images came from CachePath rather than
	// from decoding the image files.
	FromCache bool
	// CacheError is the cache problem this load met, if any: a cache file
	// that was ignored as invalid, or one that could not be written. Cache
	// problems never fail a load.
	CacheError error
}

// Classes returns the classes of split "train", "val" or "test", or nil
// for another name.
func (m *MiniImageNet) Classes(split string) []MiniImageNetClass {
	switch split {
	case "train":
		return m.Train
	case "val":
		return m.Valid
	case "test":
		return m.Test
	}
	return nil
}

// FindMiniImageNetDir resolves the mini-ImageNet directory (the one
// holding train.csv, val.csv, test.csv and images/) the way metagon's
// tools do. A non-empty flagValue wins and must name an existing
// directory. Otherwise it returns the first existing directory of
// $MINIIMAGENET_DIR, $METAGON_DATA/mini-imagenet and the default location
// of scripts/download_miniimagenet.sh,
// ${XDG_CACHE_HOME:-$HOME/.cache}/metagon/mini-imagenet. The error names
// everything tried and the script.
func FindMiniImageNetDir(flagValue string) (string, error) { return miniSet.find(flagValue) }

// miniImageNetImage is one image to load: row of split's CSV, at path.
type miniImageNetImage struct {
	split int // index in MiniImageNetSplits
	row   miniImageNetRow
	path  string
}

// where names the image in errors: "DIR/images/F (train.csv line 7)".
func (im *miniImageNetImage) where() string {
	return fmt.Sprintf("%s (%s.csv line %d)", im.path, MiniImageNetSplits[im.split], im.row.Line)
}

// LoadMiniImageNet loads mini-ImageNet from dir in its common layout:
// train.csv, val.csv and test.csv, each the header filename,label and a
// row per image (Ravi & Larochelle's files; see parseMiniImageNetCSV),
// beside images/, which holds every file they list, JPEG or PNG (told by
// its first bytes). Each class is the rows of one label, in their order;
// no class may be in two CSVs. Images are decoded on all cores into
// 3×84×84 bytes, resized if they are not 84×84 (band by band, with
// Pillow's LANCZOS filter, as MAML's proc_images.py made the 84×84 images
// the literature uses; see miniImageNetDecoder.decode), and every class
// is normalised by the training classes' channel statistics (Norm).
//
// Every problem is an error of one line naming the file, and the CSV line
// where a row is at fault, and saying what was expected: a missing CSV or
// image, a bad header, a row without two fields or with a label that is
// not a WordNet id, a file listed twice, a class in two CSVs, an image
// that does not decode or has transparent pixels. Grey-scale and CMYK
// images are read as RGB, as Pillow's convert("RGB") reads them.
//
// Unless o.CacheDir is "-", the decoded images are cached in one file,
// written atomically, named and checked by a key of the CSVs and the
// images' names, sizes and modification times (miniImageNetCacheKey): a
// valid cache file is read instead of the images (seconds instead of
// minutes), a stale one is never read, and an invalid one (truncated,
// corrupt) is ignored and replaced. The image files are still looked at
// (stat) to compute the key, so a missing one is reported either way.
func LoadMiniImageNet(dir string, o MiniImageNetOptions) (*MiniImageNet, error) {
	log := o.Log
	if log == nil {
		log = quietLogger()
	}
	var csvs [3][]byte
	var rows [3][]miniImageNetRow
	for i, s := range MiniImageNetSplits {
		p := filepath.Join(dir, s+".csv")
		b, err := readMiniImageNetCSV(dir, p)
		if err != nil {
			return nil, err
		}
		if rows[i], err = parseMiniImageNetCSV(b); err != nil {
			return nil, fmt.Errorf("load mini-imagenet %s: %w", p, err)
		}
		csvs[i] = b
	}
	if err := checkMiniImageNetSplits(rows); err != nil {
		return nil, fmt.Errorf("load mini-imagenet %s: %w", dir, err)
	}

	var images []miniImageNetImage
	for s := range rows {
		for _, r := range rows[s] {
			images = append(images, miniImageNetImage{split: s, row: r, path: filepath.Join(dir, "images", r.File)})
		}
	}
	stamps := make([]fileStamp, len(images))
	for i := range images {
		im := &images[i]
		st, err := os.Stat(im.path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("load mini-imagenet %s: %w: the CSV lists it but images/ does not hold it", im.where(), fs.ErrNotExist)
		case err != nil:
			return nil, fmt.Errorf("load mini-imagenet %s: %w", im.where(), err)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("load mini-imagenet %s: not a regular file, want a JPEG or PNG image", im.where())
		}
		stamps[i] = fileStamp{name: im.row.File, size: st.Size(), mtime: st.ModTime().UnixNano()}
	}

	m := &MiniImageNet{}
	key := miniImageNetCacheKey(MiniImageNetSide, csvs, stamps)
	if cacheDir, ok := omniglotCacheDir(o.CacheDir); ok {
		m.CachePath = filepath.Join(cacheDir, miniImageNetCacheName(MiniImageNetSide, key))
	}
	pix, err := m.cachedOrDecoded(images, key, log)
	if err != nil {
		return nil, err
	}
	m.assemble(images, pix)
	m.RaviSplit = sameClasses(m.Train, RaviMiniImageNetClasses.Train) &&
		sameClasses(m.Valid, RaviMiniImageNetClasses.Valid) && sameClasses(m.Test, RaviMiniImageNetClasses.Test)
	m.RaviCSVs = true
	for i, b := range csvs {
		sum := sha256.Sum256(b)
		m.RaviCSVs = m.RaviCSVs && hex.EncodeToString(sum[:]) == RaviMiniImageNetCSVSHA256[MiniImageNetSplits[i]+".csv"]
	}
	return m, nil
}

// readMiniImageNetCSV reads the CSV at p in dir, refusing a missing one
// with the download hint, and one that is not a regular file or is
// larger than maxMiniImageNetCSVBytes.
func readMiniImageNetCSV(dir, p string) ([]byte, error) {
	fail := func(err error) ([]byte, error) { return nil, fmt.Errorf("load mini-imagenet %s: %w", p, err) }
	f, err := os.Open(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !isDir(dir) {
			return fail(fmt.Errorf("%w (no directory %s); %s", fs.ErrNotExist, dir, miniImageNetHint))
		}
		return fail(fmt.Errorf("%w; %s", fs.ErrNotExist, miniImageNetHint))
	case err != nil:
		return fail(err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return fail(err)
	} else if !st.Mode().IsRegular() {
		return fail(fmt.Errorf("not a regular file; %s", miniImageNetHint))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxMiniImageNetCSVBytes+1))
	if err != nil {
		return fail(err)
	}
	if len(b) > maxMiniImageNetCSVBytes {
		return fail(fmt.Errorf("more than %s bytes, too large for a split's CSV", commas(maxMiniImageNetCSVBytes)))
	}
	return b, nil
}

// cachedOrDecoded returns the images' bytes, one image after the other:
// from m.CachePath if it holds a valid cache for key, else decoded from
// the files and then cached. It sets FromCache and CacheError.
func (m *MiniImageNet) cachedOrDecoded(images []miniImageNetImage, key [sha256.Size]byte, log logrus.FieldLogger) ([]uint8, error) {
	var cacheErr error
	if m.CachePath != "" {
		switch pix, err := readMiniImageNetCache(m.CachePath, MiniImageNetSide, key, len(images)); {
		case err == nil:
			touchOmniglotCache(m.CachePath)
			m.FromCache = true
			return pix, nil
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			// No cache yet.
		case errors.Is(err, errInvalidCache):
			cacheErr = fmt.Errorf("ignored cache file %s: %w", m.CachePath, err)
		default:
			cacheErr = fmt.Errorf("cannot read cache file: %w", err)
		}
	}
	if cacheErr != nil {
		log.Warnf("mini-imagenet: %v", cacheErr)
	}
	cached := "not cached"
	if m.CachePath != "" {
		cached = "once; cached in " + m.CachePath
	}
	log.Infof("mini-imagenet: decoding %s images (%s)", commas(int64(len(images))), cached)
	start := time.Now()
	pix, err := decodeMiniImageNetImages(images, MiniImageNetSide)
	if err != nil {
		return nil, err
	}
	log.Infof("mini-imagenet: decoded %s images in %.1fs", commas(int64(len(images))), time.Since(start).Seconds())
	if m.CachePath != "" {
		err := writeMiniImageNetCache(m.CachePath, MiniImageNetSide, key, pix)
		if err == nil {
			err = pruneCacheFiles(filepath.Dir(m.CachePath), miniImageNetCacheGlob, m.CachePath, MaxMiniImageNetCacheFiles, "mini-imagenet")
		}
		if err != nil {
			log.Warnf("mini-imagenet: %v", err)
			cacheErr = errors.Join(cacheErr, err)
		}
	}
	m.CacheError = cacheErr
	return pix, nil
}

// decodeMiniImageNetImages decodes the images into side×side RGB bytes,
// one image after the other, on GOMAXPROCS goroutines. On failure it
// returns the error of the first failing image (in the CSVs' order) among
// those decoded; the others stop early.
func decodeMiniImageNetImages(images []miniImageNetImage, side int) ([]uint8, error) {
	per := 3 * side * side
	pix := make([]uint8, len(images)*per)
	var next atomic.Int64
	var failed atomic.Bool
	var mu sync.Mutex
	firstErr, firstIdx := error(nil), len(images)
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), len(images))) {
		wg.Go(func() {
			d := newMiniImageNetDecoder(side)
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(images) {
					return
				}
				if err := d.decodeFile(images[i].path, pix[i*per:(i+1)*per]); err != nil {
					mu.Lock()
					if i < firstIdx {
						firstIdx, firstErr = i, fmt.Errorf("load mini-imagenet %s: %w", images[i].where(), err)
					}
					mu.Unlock()
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return pix, firstErr
}

// assemble makes the classes of the images, whose bytes pix holds one
// image after the other, and normalises them by the training classes'
// statistics.
func (m *MiniImageNet) assemble(images []miniImageNetImage, pix []uint8) {
	var sides [3][]MiniImageNetClass
	index := map[string]int{} // WNID → its class's index in its side
	for i, im := range images {
		k, ok := index[im.row.WNID]
		if !ok {
			k = len(sides[im.split])
			index[im.row.WNID] = k
			sides[im.split] = append(sides[im.split], MiniImageNetClass{
				WNID: im.row.WNID, Split: MiniImageNetSplits[im.split], images: &miniImageNetImages{}})
		}
		c := sides[im.split][k].images
		c.pix = append(c.pix, pix[i*MiniImageNetImageBytes:(i+1)*MiniImageNetImageBytes:(i+1)*MiniImageNetImageBytes])
		c.files = append(c.files, im.row.File)
	}
	m.Norm = MiniImageNetClassesNorm(sides[0])
	for s := range sides {
		for k := range sides[s] {
			sides[s][k] = sides[s][k].WithNorm(m.Norm)
		}
	}
	m.Train, m.Valid, m.Test = sides[0], sides[1], sides[2]
}

// sameClasses reports whether classes are those of wnids, in any order.
func sameClasses(classes []MiniImageNetClass, wnids []string) bool {
	if len(classes) != len(wnids) {
		return false
	}
	for _, c := range classes {
		if !slices.Contains(wnids, c.WNID) {
			return false
		}
	}
	return true
}

// quietLogger returns a logger that discards everything.
func quietLogger() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}
