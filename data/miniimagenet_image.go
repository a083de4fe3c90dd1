package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // image.Decode reads JPEGs and PNGs
	_ "image/png"
	"io"
	"os"
)

// Limits on the image files LoadMiniImageNet decodes, so that a damaged
// or wrong file cannot ask for an absurd allocation. mini-ImageNet's
// images are a few kB each at 84×84; ImageNet's originals are at most a
// few MB and a few thousand pixels a side.
const (
	maxMiniImageNetFileBytes = 64 << 20
	maxMiniImageNetImageSide = 8192
)

// miniImageNetDecoder decodes images into 3×side×side bytes: it holds one
// worker's scratch space (the file's bytes, the RGB planes before
// resizing, the resizer's taps). It is not safe for concurrent use.
type miniImageNetDecoder struct {
	side   int
	buf    bytes.Buffer
	planes []uint8
	lz     *lanczosResizer
}

func newMiniImageNetDecoder(side int) *miniImageNetDecoder {
	return &miniImageNetDecoder{side: side, lz: newLanczosResizer()}
}

// decodeFile reads the image file at path and decodes it into dst (see
// decode).
func (d *miniImageNetDecoder) decodeFile(path string, dst []uint8) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	d.buf.Reset()
	if _, err := d.buf.ReadFrom(io.LimitReader(f, maxMiniImageNetFileBytes+1)); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if d.buf.Len() > maxMiniImageNetFileBytes {
		return fmt.Errorf("file of more than %s bytes, too large for an image", commas(maxMiniImageNetFileBytes))
	}
	return d.decode(d.buf.Bytes(), dst)
}

// decode decodes the JPEG or PNG b (told by its first bytes, not its
// name) into dst: 3·side·side bytes, the red plane, then green, then
// blue, each side rows of side bytes, the layout of CIFAR's images. An
// image that is not side×side is resized band by band with FilterLanczos,
// exactly as Pillow's Image.resize((side, side), Image.LANCZOS) resizes
// the decoded RGB bytes, which is how MAML's proc_images.py made the
// 84×84 images of mini-ImageNet. A grey-scale image gives three equal
// planes and a CMYK one its RGB colours, as Pillow's Image.convert("RGB")
// (which PyTorch loaders apply) does; one with transparent pixels is an
// error saying so; a palette image gives its palette's colours.
//
// PNGs are lossless, so their pixels are the file's. JPEGs are decoded by
// Go's image/jpeg, whose chroma upsampling and colour conversion may
// differ from libjpeg's (Pillow's) by a few levels, so their bytes can
// differ slightly from those of a Pillow pipeline.
func (d *miniImageNetDecoder) decode(b []byte, dst []uint8) error {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	switch {
	case errors.Is(err, image.ErrFormat):
		return fmt.Errorf("not a JPEG or PNG image (it starts with %s)", quoteLine(string(b[:min(len(b), 8)])))
	case err != nil:
		return fmt.Errorf("corrupt image header: %w", err)
	case cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxMiniImageNetImageSide || cfg.Height > maxMiniImageNetImageSide:
		return fmt.Errorf("implausible image size %d×%d (want 1..%d each)", cfg.Width, cfg.Height, maxMiniImageNetImageSide)
	}
	if format == "png" {
		if err := checkPNGData(b); err != nil {
			return err // before png.Decode allocates the image the header claims
		}
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("corrupt %s: %w", formatName(format), err)
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	plane := d.side * d.side
	if w == d.side && h == d.side {
		return rgbPlanes(img, dst[:3*plane])
	}
	d.planes = reuseSlice(d.planes, 3*w*h)
	if err := rgbPlanes(img, d.planes); err != nil {
		return err
	}
	for c := range 3 {
		d.lz.resizePlane(d.planes[c*w*h:(c+1)*w*h], w, w, h, dst[c*plane:(c+1)*plane], d.side)
	}
	return nil
}

// formatName names an image format in messages: "JPEG", "PNG".
func formatName(format string) string {
	switch format {
	case "jpeg":
		return "JPEG"
	case "png":
		return "PNG"
	}
	return format
}

// rgbPlanes writes the red, green and blue planes of img, each w×h bytes
// row by row, one after the other, to dst[:3*w*h]. Colour JPEGs
// (*image.YCbCr) are converted with color.YCbCrToRGB; 16-bit PNGs keep
// each sample's high byte. Images without three colour channels are
// refused, each with an error naming what it is.
func rgbPlanes(img image.Image, dst []uint8) error {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h
	r, g, bl := dst[:n], dst[n:2*n], dst[2*n:3*n]
	switch m := img.(type) {
	case *image.Gray: // R = G = B = the grey level, as Pillow's convert("RGB")
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			copy(r[y*w:], row)
			copy(g[y*w:], row)
			copy(bl[y*w:], row)
		}
	case *image.Gray16:
		for y := range h {
			for x := range w {
				k := y*w + x
				r[k] = m.Pix[y*m.Stride+2*x] // the high byte
				g[k], bl[k] = r[k], r[k]
			}
		}
	case *image.CMYK:
		for y := range h {
			for x := range w {
				i, k := y*m.Stride+4*x, y*w+x
				ink := 255 - int(m.Pix[i+3])
				r[k], g[k], bl[k] = cmykChannel(m.Pix[i], ink), cmykChannel(m.Pix[i+1], ink), cmykChannel(m.Pix[i+2], ink)
			}
		}
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				k := y*w + x
				r[k], g[k], bl[k] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
	case *image.RGBA:
		return interleavedPlanes(m.Pix, m.Stride, w, h, 4, 1, dst)
	case *image.NRGBA:
		return interleavedPlanes(m.Pix, m.Stride, w, h, 4, 1, dst)
	case *image.RGBA64:
		return interleavedPlanes(m.Pix, m.Stride, w, h, 8, 2, dst)
	case *image.NRGBA64:
		return interleavedPlanes(m.Pix, m.Stride, w, h, 8, 2, dst)
	case *image.Paletted:
		for y := range h {
			for x := range w {
				c := color.NRGBAModel.Convert(m.Palette[m.ColorIndexAt(b.Min.X+x, b.Min.Y+y)]).(color.NRGBA)
				if c.A != 0xff {
					return errTransparent
				}
				k := y*w + x
				r[k], g[k], bl[k] = c.R, c.G, c.B
			}
		}
	default:
		return fmt.Errorf("unsupported colour model %T, want an RGB image", img)
	}
	return nil
}

// cmykChannel is Pillow's CMYK → RGB conversion of one channel: with
// ink = 255 − K, the channel is ink − c·ink/255, the product rounded to
// the nearest integer by Pillow's exact MULDIV255.
func cmykChannel(c uint8, ink int) uint8 {
	t := int(c)*ink + 128
	return uint8(ink - ((t>>8)+t)>>8)
}

// errTransparent refuses an image with an alpha channel in use.
var errTransparent = errors.New("has transparent pixels, want 3 opaque channels (RGB)")

// interleavedPlanes writes the planes of w×h pixels stored as R, G, B, A
// samples of bytesPer bytes each, high byte first (pixelBytes = 4·bytesPer
// bytes a pixel, row y at pix[y*stride:]), to dst, keeping each sample's
// high byte; a pixel that is not opaque is an error.
func interleavedPlanes(pix []uint8, stride, w, h, pixelBytes, bytesPer int, dst []uint8) error {
	n := w * h
	for y := range h {
		row := pix[y*stride : y*stride+w*pixelBytes]
		for x := range w {
			p := row[x*pixelBytes:]
			if p[3*bytesPer] != 0xff || (bytesPer == 2 && p[3*bytesPer+1] != 0xff) {
				return errTransparent
			}
			k := y*w + x
			dst[k], dst[n+k], dst[2*n+k] = p[0], p[bytesPer], p[2*bytesPer]
		}
	}
	return nil
}
