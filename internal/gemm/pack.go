package gemm

// Packing copies a block of op(A) or op(B) into the order the microkernel
// reads it, handling the transposes, so that one microkernel serves all
// four cases. Slivers at the bottom/right edge are padded with zeros to a
// whole MR or NR: the padded rows/columns of the product come out zero and
// are simply not written back.
//
// The hot paths are unrolled for the tile sizes the kernels use (MR = 6,
// NR = 8, 16, 32) through array pointers, so that the compiler drops the
// per-element bounds checks; anything else takes a plain loop.

// packA packs op(A)[i0:i0+mb, p0:p0+kb] into dst as ⌈mb/mr⌉ slivers, each
// kb columns of mr consecutive elements: sliver s holds op(A)[i0+s·mr+r,
// p0+p] at dst[s·mr·kb + p·mr + r].
func packA[T float](dst []T, tA bool, a []T, lda, i0, p0, mb, kb, mr int) {
	full := 0 // rows in whole slivers packed by a fast path
	if mr == 6 {
		full = mb / 6 * 6
		if tA {
			packAT6(dst, a, lda, i0, p0, full, kb)
		} else {
			packAN6(dst, a, lda, i0, p0, full, kb)
		}
	}
	for ir := full; ir < mb; ir += mr {
		d := dst[ir*kb : (ir+mr)*kb]
		rows := min(mr, mb-ir)
		if tA {
			// op(A)[i,p] = a[p·lda+i]: each column of the sliver is
			// contiguous in a.
			for p := 0; p < kb; p++ {
				dp := d[p*mr : p*mr+mr]
				copy(dp, a[(p0+p)*lda+i0+ir:][:rows])
				clear(dp[rows:])
			}
			continue
		}
		// op(A)[i,p] = a[i·lda+p]: rows are contiguous; interleave them.
		for r := 0; r < rows; r++ {
			src := a[(i0+ir+r)*lda+p0:][:kb]
			for p, v := range src {
				d[p*mr+r] = v
			}
		}
		for r := rows; r < mr; r++ {
			for p := 0; p < kb; p++ {
				d[p*mr+r] = 0
			}
		}
	}
}

// packAN6 packs the first mb (a multiple of 6) rows of an untransposed A
// block into slivers of MR = 6, walking the six rows of a sliver together.
func packAN6[T float](dst []T, a []T, lda, i0, p0, mb, kb int) {
	for ir := 0; ir < mb; ir += 6 {
		d := dst[ir*kb : (ir+6)*kb]
		o := (i0+ir)*lda + p0
		a0 := a[o:][:kb]
		a1 := a[o+lda:][:kb]
		a2 := a[o+2*lda:][:kb]
		a3 := a[o+3*lda:][:kb]
		a4 := a[o+4*lda:][:kb]
		a5 := a[o+5*lda:][:kb]
		for p := range a0 {
			q := (*[6]T)(d[p*6:])
			q[0], q[1], q[2], q[3], q[4], q[5] = a0[p], a1[p], a2[p], a3[p], a4[p], a5[p]
		}
	}
}

// packAT6 packs the first mb (a multiple of 6) columns of a transposed A
// block into slivers of MR = 6: row p of a feeds column p of every sliver,
// so a is read row by row.
func packAT6[T float](dst []T, a []T, lda, i0, p0, mb, kb int) {
	for p := 0; p < kb; p++ {
		src := a[(p0+p)*lda+i0:][:mb]
		d := dst[p*6:]
		for ir := 0; ir+6 <= len(src); ir += 6 {
			*(*[6]T)(d[ir*kb:]) = *(*[6]T)(src[ir:])
		}
	}
}

// packB packs op(B)[p0:p0+kb, j0:j0+nb] into dst as ⌈nb/nr⌉ slivers, each
// kb rows of nr consecutive elements: sliver s holds op(B)[p0+p, j0+s·nr+j]
// at dst[s·nr·kb + p·nr + j].
func packB[T float](dst []T, tB bool, b []T, ldb, p0, j0, kb, nb, nr int) {
	if !tB {
		packBRows(dst, b, ldb, p0, j0, kb, nb, nr)
		return
	}
	for jr := 0; jr < nb; jr += nr {
		d := dst[jr*kb : (jr+nr)*kb]
		cols := min(nr, nb-jr)
		// op(B)[p,j] = b[j·ldb+p]: columns of the sliver are contiguous in
		// b. Go down them a chunk of rows at a time so that the cols read
		// streams and the written part of the sliver stay in L1.
		for pp := 0; pp < kb; pp += packChunk {
			pn := min(packChunk, kb-pp)
			if pn == packChunk && packColsChunk(d[pp*nr:(pp+packChunk)*nr], b[(j0+jr)*ldb+p0+pp:], ldb, cols, nr) {
				continue
			}
			for j := 0; j < cols; j++ {
				src := b[(j0+jr+j)*ldb+p0+pp:][:pn]
				dp := d[pp*nr+j:]
				for p, v := range src {
					dp[p*nr] = v
				}
			}
		}
		for j := cols; j < nr; j++ {
			for p := 0; p < kb; p++ {
				d[p*nr+j] = 0
			}
		}
	}
}

// packChunk is how many rows of a B block packB handles at a time.
const packChunk = 16

// packColsChunk writes packChunk elements of each of cols columns, column
// j starting at b[j·ldb], into d (packChunk rows of nr) as d[p·nr+j], if
// nr is one it has an unrolled loop for, and reports whether it did.
func packColsChunk[T float](d, b []T, ldb, cols, nr int) bool {
	switch nr {
	case 32:
		for j := 0; j < cols; j++ {
			s := (*[packChunk]T)(b[j*ldb:])
			q := (*[(packChunk-1)*32 + 1]T)(d[j:])
			q[0*32], q[1*32], q[2*32], q[3*32] = s[0], s[1], s[2], s[3]
			q[4*32], q[5*32], q[6*32], q[7*32] = s[4], s[5], s[6], s[7]
			q[8*32], q[9*32], q[10*32], q[11*32] = s[8], s[9], s[10], s[11]
			q[12*32], q[13*32], q[14*32], q[15*32] = s[12], s[13], s[14], s[15]
		}
	case 16:
		for j := 0; j < cols; j++ {
			s := (*[packChunk]T)(b[j*ldb:])
			q := (*[(packChunk-1)*16 + 1]T)(d[j:])
			q[0*16], q[1*16], q[2*16], q[3*16] = s[0], s[1], s[2], s[3]
			q[4*16], q[5*16], q[6*16], q[7*16] = s[4], s[5], s[6], s[7]
			q[8*16], q[9*16], q[10*16], q[11*16] = s[8], s[9], s[10], s[11]
			q[12*16], q[13*16], q[14*16], q[15*16] = s[12], s[13], s[14], s[15]
		}
	case 8:
		for j := 0; j < cols; j++ {
			s := (*[packChunk]T)(b[j*ldb:])
			q := (*[(packChunk-1)*8 + 1]T)(d[j:])
			q[0*8], q[1*8], q[2*8], q[3*8] = s[0], s[1], s[2], s[3]
			q[4*8], q[5*8], q[6*8], q[7*8] = s[4], s[5], s[6], s[7]
			q[8*8], q[9*8], q[10*8], q[11*8] = s[8], s[9], s[10], s[11]
			q[12*8], q[13*8], q[14*8], q[15*8] = s[12], s[13], s[14], s[15]
		}
	default:
		return false
	}
	return true
}

// packBRows is packB for untransposed B, whose rows are contiguous in b.
// Going sliver by sliver would read kb rows of b far apart (one page
// each, thrashing the TLB) for every NR elements; instead take a chunk of
// rows and spread it over all the slivers, so b is read a few rows at a
// time, sequentially.
func packBRows[T float](dst []T, b []T, ldb, p0, j0, kb, nb, nr int) {
	full := nb / nr * nr // columns in whole slivers
	for pp := 0; pp < kb; pp += packChunk {
		pn := min(packChunk, kb-pp)
		for jr := 0; jr < full; jr += nr {
			d := dst[jr*kb+pp*nr : jr*kb+(pp+pn)*nr]
			o := (p0+pp)*ldb + j0 + jr
			switch nr {
			case 32:
				for p := 0; p < pn; p++ {
					*(*[32]T)(d[p*32:]) = *(*[32]T)(b[o+p*ldb:])
				}
			case 16:
				for p := 0; p < pn; p++ {
					*(*[16]T)(d[p*16:]) = *(*[16]T)(b[o+p*ldb:])
				}
			case 8:
				for p := 0; p < pn; p++ {
					*(*[8]T)(d[p*8:]) = *(*[8]T)(b[o+p*ldb:])
				}
			default:
				for p := 0; p < pn; p++ {
					copy(d[p*nr:p*nr+nr], b[o+p*ldb:][:nr])
				}
			}
		}
	}
	if full == nb {
		return
	}
	// The last, partial sliver, zero-padded.
	cols := nb - full
	d := dst[full*kb : (full+nr)*kb]
	for p := 0; p < kb; p++ {
		dp := d[p*nr : p*nr+nr]
		copy(dp, b[(p0+p)*ldb+j0+full:][:cols])
		clear(dp[cols:])
	}
}
