package gemm

// The packing routines as they were before the unrolled fast paths, kept
// as the reference the new ones must match element for element.
func packARef[T float](dst []T, tA bool, a []T, lda, i0, p0, mb, kb, mr int) {
	for ir := 0; ir < mb; ir += mr {
		d := dst[ir*kb : (ir+mr)*kb]
		rows := min(mr, mb-ir)
		if tA {
			// op(A)[i,p] = a[p·lda+i]: each column of the sliver is
			// contiguous in a.
			if rows == mr { // a full sliver: no padding to write
				for p := 0; p < kb; p++ {
					src := a[(p0+p)*lda+i0+ir:][:mr]
					dp := d[p*mr : p*mr+mr]
					for r := range dp { // a few elements: a loop beats copy's call
						dp[r] = src[r]
					}
				}
				continue
			}
			for p := 0; p < kb; p++ {
				src := a[(p0+p)*lda+i0+ir:][:rows]
				dp := d[p*mr : p*mr+mr]
				for r := range dp {
					if r < rows {
						dp[r] = src[r]
					} else {
						dp[r] = 0
					}
				}
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

// packB packs op(B)[p0:p0+kb, j0:j0+nb] into dst as ⌈nb/nr⌉ slivers, each
// kb rows of nr consecutive elements: sliver s holds op(B)[p0+p, j0+s·nr+j]
// at dst[s·nr·kb + p·nr + j].
func packBRef[T float](dst []T, tB bool, b []T, ldb, p0, j0, kb, nb, nr int) {
	if !tB {
		packBRowsRef(dst, b, ldb, p0, j0, kb, nb, nr)
		return
	}
	for jr := 0; jr < nb; jr += nr {
		d := dst[jr*kb : (jr+nr)*kb]
		cols := min(nr, nb-jr)
		// op(B)[p,j] = b[j·ldb+p]: columns of the sliver are contiguous in
		// b. Go down them a chunk of rows at a time so that the cols read
		// streams and the written part of the sliver stay in L1.
		for pp := 0; pp < kb; pp += refChunk {
			pn := min(refChunk, kb-pp)
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

// refChunk is how many rows of a B block packB handles at a time.
const refChunk = 16

// packBRows is packB for untransposed B, whose rows are contiguous in b.
// Going sliver by sliver would read kb rows of b far apart (one page
// each, thrashing the TLB) for every NR elements; instead take a chunk of
// rows and spread it over all the slivers, so b is read a few rows at a
// time, sequentially.
func packBRowsRef[T float](dst []T, b []T, ldb, p0, j0, kb, nb, nr int) {
	full := nb / nr * nr // columns in whole slivers
	for pp := 0; pp < kb; pp += refChunk {
		pn := min(refChunk, kb-pp)
		for jr := 0; jr < full; jr += nr {
			d := dst[jr*kb+pp*nr : jr*kb+(pp+pn)*nr]
			for p := 0; p < pn; p++ {
				src := b[(p0+pp+p)*ldb+j0+jr:][:nr]
				dp := d[p*nr : p*nr+nr]
				for j := range dp { // short: a loop beats copy's call
					dp[j] = src[j]
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
