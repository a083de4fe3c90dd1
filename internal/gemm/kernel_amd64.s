#include "textflag.h"

// AVX2/FMA microkernels. Both keep a 6-row tile of C in Y4–Y15, two ymm
// registers per row (Y4,Y5 = row 0, Y6,Y7 = row 1, …, Y14,Y15 = row 5):
// 6×8 float64 or 6×16 float32. Each step p of the k loop loads one row of
// the packed B sliver (Y0,Y1), broadcasts the six packed A elements of
// column p in turn (Y2/Y3 alternately, so a broadcast never waits for the
// FMAs of the previous one) and does 12 FMAs: C[i,:] += A[i,p]·B[p,:].
// The 12 accumulators are independent chains, enough to keep both FMA
// pipes busy despite the 4-5 cycle FMA latency.
//
// Register use:
//	CX  k loop counter (remainder)   BX  k/4 loop counter
//	SI  packed A (6 elements a step) DI  B row (R9 bytes a step)
//	DX  C row pointer                R8  ldc in bytes
//	R9  ldb in bytes (NR·size for a packed sliver)

// DSTEP does one k step of the float64 kernel; ao and bo are the byte
// offsets of the step's A column and B row from SI and DI (the callers
// advance DI by the B row stride R9 after each step, so bo is 0). Row i of the
// tile gets Y(4+2i) += A[i,p]·B[p,0:4] and Y(5+2i) += A[i,p]·B[p,4:8]
// (VFMADD231PD x, y, z is z += y·x).
#define DSTEP(ao, bo) \
	VMOVUPD      (bo)(DI), Y0;      \
	VMOVUPD      (bo+32)(DI), Y1;   \
	VBROADCASTSD (ao)(SI), Y2;      \
	VFMADD231PD  Y0, Y2, Y4;        \
	VFMADD231PD  Y1, Y2, Y5;        \
	VBROADCASTSD (ao+8)(SI), Y3;    \
	VFMADD231PD  Y0, Y3, Y6;        \
	VFMADD231PD  Y1, Y3, Y7;        \
	VBROADCASTSD (ao+16)(SI), Y2;   \
	VFMADD231PD  Y0, Y2, Y8;        \
	VFMADD231PD  Y1, Y2, Y9;        \
	VBROADCASTSD (ao+24)(SI), Y3;   \
	VFMADD231PD  Y0, Y3, Y10;       \
	VFMADD231PD  Y1, Y3, Y11;       \
	VBROADCASTSD (ao+32)(SI), Y2;   \
	VFMADD231PD  Y0, Y2, Y12;       \
	VFMADD231PD  Y1, Y2, Y13;       \
	VBROADCASTSD (ao+40)(SI), Y3;   \
	VFMADD231PD  Y0, Y3, Y14;       \
	VFMADD231PD  Y1, Y3, Y15

// DSTORE writes one row (lo, hi) of the tile to C at DX: C = acc.
#define DSTORE(lo, hi) \
	VMOVUPD lo, (DX);   \
	VMOVUPD hi, 32(DX); \
	ADDQ    R8, DX

// DACCUM writes one row with beta (in Y1): C = acc + beta·C.
#define DACCUM(lo, hi) \
	VFMADD231PD (DX), Y1, lo;   \
	VFMADD231PD 32(DX), Y1, hi; \
	VMOVUPD     lo, (DX);       \
	VMOVUPD     hi, 32(DX);     \
	ADDQ        R8, DX

// func dkernel6x8(k int, a, b []float64, ldb int, c []float64, ldc int, alpha, beta float64)
TEXT ·dkernel6x8(SB), NOSPLIT, $0-112
	MOVQ k+0(FP), CX
	MOVQ a_base+8(FP), SI
	MOVQ b_base+32(FP), DI
	MOVQ ldb+56(FP), R9
	SHLQ $3, R9                 // ldb in bytes: the step from one B row to the next
	MOVQ c_base+64(FP), DX
	MOVQ ldc+88(FP), R8
	SHLQ $3, R8                 // ldc in bytes

	// Zero the accumulators.
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	VXORPD Y12, Y12, Y12
	VXORPD Y13, Y13, Y13
	VXORPD Y14, Y14, Y14
	VXORPD Y15, Y15, Y15

	// Pull the C tile towards L1 while the k loop runs.
	MOVQ     DX, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)
	ADDQ     R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)
	ADDQ     R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)
	ADDQ     R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)
	ADDQ     R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)
	ADDQ     R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)

	MOVQ CX, BX
	SHRQ $2, BX                 // BX = k/4 iterations of 4 steps
	ANDQ $3, CX                 // CX = k%4 single steps
	TESTQ BX, BX
	JZ   dtail

dloop4:
	DSTEP(0, 0)
	ADDQ R9, DI                 // next B row
	DSTEP(48, 0)
	ADDQ R9, DI
	DSTEP(96, 0)
	ADDQ R9, DI
	DSTEP(144, 0)
	ADDQ R9, DI
	ADDQ $192, SI               // 4 steps × 6 float64
	DECQ BX
	JNZ  dloop4

dtail:
	TESTQ CX, CX
	JZ    dwrite

dloop1:
	DSTEP(0, 0)
	ADDQ $48, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  dloop1

dwrite:
	// acc *= alpha
	VBROADCASTSD alpha+96(FP), Y0
	VMULPD Y0, Y4, Y4
	VMULPD Y0, Y5, Y5
	VMULPD Y0, Y6, Y6
	VMULPD Y0, Y7, Y7
	VMULPD Y0, Y8, Y8
	VMULPD Y0, Y9, Y9
	VMULPD Y0, Y10, Y10
	VMULPD Y0, Y11, Y11
	VMULPD Y0, Y12, Y12
	VMULPD Y0, Y13, Y13
	VMULPD Y0, Y14, Y14
	VMULPD Y0, Y15, Y15

	// beta == 0 (ordered compare: a NaN beta takes the beta path) stores
	// without reading C.
	VMOVSD   beta+104(FP), X1
	VXORPD   X2, X2, X2
	VUCOMISD X2, X1
	JNE      daccum
	JPS      daccum             // unordered: beta is NaN

	DSTORE(Y4, Y5)
	DSTORE(Y6, Y7)
	DSTORE(Y8, Y9)
	DSTORE(Y10, Y11)
	DSTORE(Y12, Y13)
	DSTORE(Y14, Y15)
	VZEROUPPER
	RET

daccum:
	VBROADCASTSD beta+104(FP), Y1
	DACCUM(Y4, Y5)
	DACCUM(Y6, Y7)
	DACCUM(Y8, Y9)
	DACCUM(Y10, Y11)
	DACCUM(Y12, Y13)
	DACCUM(Y14, Y15)
	VZEROUPPER
	RET

// SSTEP is DSTEP for float32: 16 columns, 4-byte elements.
#define SSTEP(ao, bo) \
	VMOVUPS      (bo)(DI), Y0;      \
	VMOVUPS      (bo+32)(DI), Y1;   \
	VBROADCASTSS (ao)(SI), Y2;      \
	VFMADD231PS  Y0, Y2, Y4;        \
	VFMADD231PS  Y1, Y2, Y5;        \
	VBROADCASTSS (ao+4)(SI), Y3;    \
	VFMADD231PS  Y0, Y3, Y6;        \
	VFMADD231PS  Y1, Y3, Y7;        \
	VBROADCASTSS (ao+8)(SI), Y2;    \
	VFMADD231PS  Y0, Y2, Y8;        \
	VFMADD231PS  Y1, Y2, Y9;        \
	VBROADCASTSS (ao+12)(SI), Y3;   \
	VFMADD231PS  Y0, Y3, Y10;       \
	VFMADD231PS  Y1, Y3, Y11;       \
	VBROADCASTSS (ao+16)(SI), Y2;   \
	VFMADD231PS  Y0, Y2, Y12;       \
	VFMADD231PS  Y1, Y2, Y13;       \
	VBROADCASTSS (ao+20)(SI), Y3;   \
	VFMADD231PS  Y0, Y3, Y14;       \
	VFMADD231PS  Y1, Y3, Y15

#define SSTORE(lo, hi) \
	VMOVUPS lo, (DX);   \
	VMOVUPS hi, 32(DX); \
	ADDQ    R8, DX

#define SACCUM(lo, hi) \
	VFMADD231PS (DX), Y1, lo;   \
	VFMADD231PS 32(DX), Y1, hi; \
	VMOVUPS     lo, (DX);       \
	VMOVUPS     hi, 32(DX);     \
	ADDQ        R8, DX

// func skernel6x16(k int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32)
TEXT ·skernel6x16(SB), NOSPLIT, $0-104
	MOVQ k+0(FP), CX
	MOVQ a_base+8(FP), SI
	MOVQ b_base+32(FP), DI
	MOVQ ldb+56(FP), R9
	SHLQ $2, R9                 // ldb in bytes
	MOVQ c_base+64(FP), DX
	MOVQ ldc+88(FP), R8
	SHLQ $2, R8                 // ldc in bytes

	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

	MOVQ     DX, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)
	ADDQ     R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)
	ADDQ     R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)
	ADDQ     R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)
	ADDQ     R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)
	ADDQ     R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 63(AX)

	MOVQ CX, BX
	SHRQ $2, BX
	ANDQ $3, CX
	TESTQ BX, BX
	JZ   stail

sloop4:
	SSTEP(0, 0)
	ADDQ R9, DI                 // next B row
	SSTEP(24, 0)
	ADDQ R9, DI
	SSTEP(48, 0)
	ADDQ R9, DI
	SSTEP(72, 0)
	ADDQ R9, DI
	ADDQ $96, SI                // 4 steps × 6 float32
	DECQ BX
	JNZ  sloop4

stail:
	TESTQ CX, CX
	JZ    swrite

sloop1:
	SSTEP(0, 0)
	ADDQ $24, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  sloop1

swrite:
	VBROADCASTSS alpha+96(FP), Y0
	VMULPS Y0, Y4, Y4
	VMULPS Y0, Y5, Y5
	VMULPS Y0, Y6, Y6
	VMULPS Y0, Y7, Y7
	VMULPS Y0, Y8, Y8
	VMULPS Y0, Y9, Y9
	VMULPS Y0, Y10, Y10
	VMULPS Y0, Y11, Y11
	VMULPS Y0, Y12, Y12
	VMULPS Y0, Y13, Y13
	VMULPS Y0, Y14, Y14
	VMULPS Y0, Y15, Y15

	VMOVSS   beta+100(FP), X1
	VXORPS   X2, X2, X2
	VUCOMISS X2, X1
	JNE      saccum
	JPS      saccum

	SSTORE(Y4, Y5)
	SSTORE(Y6, Y7)
	SSTORE(Y8, Y9)
	SSTORE(Y10, Y11)
	SSTORE(Y12, Y13)
	SSTORE(Y14, Y15)
	VZEROUPPER
	RET

saccum:
	VBROADCASTSS beta+100(FP), Y1
	SACCUM(Y4, Y5)
	SACCUM(Y6, Y7)
	SACCUM(Y8, Y9)
	SACCUM(Y10, Y11)
	SACCUM(Y12, Y13)
	SACCUM(Y14, Y15)
	VZEROUPPER
	RET
