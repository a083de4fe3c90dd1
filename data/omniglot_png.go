package data

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// maxDeflateRatio is the most a deflate stream can expand: a length/distance
// pair of two 1-bit codes stands for at most 258 bytes, 1032 bytes per byte
// of input.
const maxDeflateRatio = 1032

// pngChannels is the number of samples per pixel of each PNG colour type
// (grey, RGB, palette index, grey+alpha, RGBA).
var pngChannels = map[byte]uint64{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}

// checkPNGData refuses a PNG whose header claims more pixels than its
// compressed image data (the IDAT chunks) can possibly hold, before
// png.Decode allocates the image the header claims: a PNG of a few hundred
// bytes that says 4096×4096 at 16 bits per sample would otherwise cost
// 128 MiB before the decoder finds that the data is missing. The test is
// that the pixel bits the header announces, divided by 8, do not exceed
// maxDeflateRatio times the IDAT bytes present. b must start with the PNG
// signature and IHDR chunk (png.DecodeConfig has accepted it).
func checkPNGData(b []byte) error {
	const sig, ihdrEnd = 8, 8 + 8 + 13 // signature; IHDR length, type, data
	if len(b) < ihdrEnd || string(b[sig+4:sig+8]) != "IHDR" {
		return fmt.Errorf("corrupt PNG: no IHDR chunk after the signature")
	}
	w := uint64(binary.BigEndian.Uint32(b[16:]))
	h := uint64(binary.BigEndian.Uint32(b[20:]))
	depth, colorType := uint64(b[24]), b[25]
	channels, ok := pngChannels[colorType]
	if !ok {
		return fmt.Errorf("corrupt PNG: unknown colour type %d", colorType)
	}
	pixelBits := depth * channels
	hi, totalBits := bits.Mul64(w*pixelBits, h) // w < 2^32, pixelBits ≤ 64

	var idat uint64
	for off := sig; off+8 <= len(b); {
		n := uint64(binary.BigEndian.Uint32(b[off:]))
		typ := string(b[off+4 : off+8])
		left := uint64(len(b) - off - 8)
		if typ == "IDAT" {
			idat += min(n, left)
		}
		if typ == "IEND" || n+4 > left {
			break
		}
		off += 8 + int(n) + 4 // length and type, data, CRC
	}
	if hi != 0 || totalBits/8 > maxDeflateRatio*idat {
		return fmt.Errorf("corrupt PNG: header says %d×%d pixels of %d bits but the image data holds only %d compressed bytes, which deflate cannot expand to more than %d bytes",
			w, h, pixelBits, idat, maxDeflateRatio*idat)
	}
	return nil
}
