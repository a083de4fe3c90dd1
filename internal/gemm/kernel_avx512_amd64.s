#include "textflag.h"

// AVX-512 microkernels: the AVX2 kernels of kernel_amd64.s with zmm
// registers, so each row of the tile is two 64-byte registers, 16 float64
// or 32 float32. They use AVX512F instructions only (VPXORQ to zero a zmm
// register: VXORPD on zmm would need AVX512DQ), plus AVX on xmm registers
// for the scalar beta test.
//
// Each C element is the same chain of FMAs as in the AVX2 kernel,
// acc = fma(A[i,p], B[p,j], acc) for p = 0, 1, …, k-1 in order, then
// acc·alpha, then fma(beta, C, acc·alpha): the results are bit for bit
// those of the AVX2 kernel.
//
// Register use:
//	Z0, Z1  the B row of the current step (columns 0–7/0–15, 8–15/16–31)
//	Z2, Z3  the broadcast A element (alternately, so a broadcast never
//	        waits for the FMAs that read the previous one)
//	Z4–Z15  the 6-row tile, two registers a row: Z4,Z5 = row 0,
//	        Z6,Z7 = row 1, …, Z14,Z15 = row 5
//	CX  k loop counter (remainder)   BX  k/4 loop counter
//	SI  packed A (6 elements a step) DI  B row (R9 bytes a step)
//	DX  C row pointer                R8  ldc in bytes
//	R9  ldb in bytes (NR·size for a packed sliver)
//	AX  C row pointer for the prefetches
//
// A row of the tile is 128 bytes, so its prefetches touch (AX), 64(AX)
// and 127(AX): the three cache lines an unaligned row can span.

// ZPREFETCHC prefetches one row of the C tile and moves AX to the next.
#define ZPREFETCHC \
	PREFETCHT0 (AX);    \
	PREFETCHT0 64(AX);  \
	PREFETCHT0 127(AX); \
	ADDQ       R8, AX

// ZDSTEP does one k step of the float64 kernel; ao is the byte offset of
// the step's A column from SI (DI is the step's B row: the callers advance
// it by R9 after each step). Row i of the tile gets
// Z(4+2i) += A[i,p]·B[p,0:8] and Z(5+2i) += A[i,p]·B[p,8:16]
// (VFMADD231PD x, y, z is z += y·x).
#define ZDSTEP(ao) \
	VMOVUPD      (DI), Z0;         \
	VMOVUPD      64(DI), Z1;       \
	VBROADCASTSD (ao)(SI), Z2;     \
	VFMADD231PD  Z0, Z2, Z4;       \
	VFMADD231PD  Z1, Z2, Z5;       \
	VBROADCASTSD (ao+8)(SI), Z3;   \
	VFMADD231PD  Z0, Z3, Z6;       \
	VFMADD231PD  Z1, Z3, Z7;       \
	VBROADCASTSD (ao+16)(SI), Z2;  \
	VFMADD231PD  Z0, Z2, Z8;       \
	VFMADD231PD  Z1, Z2, Z9;       \
	VBROADCASTSD (ao+24)(SI), Z3;  \
	VFMADD231PD  Z0, Z3, Z10;      \
	VFMADD231PD  Z1, Z3, Z11;      \
	VBROADCASTSD (ao+32)(SI), Z2;  \
	VFMADD231PD  Z0, Z2, Z12;      \
	VFMADD231PD  Z1, Z2, Z13;      \
	VBROADCASTSD (ao+40)(SI), Z3;  \
	VFMADD231PD  Z0, Z3, Z14;      \
	VFMADD231PD  Z1, Z3, Z15

// ZDSTORE writes one row (lo, hi) of the tile to C at DX: C = acc.
#define ZDSTORE(lo, hi) \
	VMOVUPD lo, (DX);   \
	VMOVUPD hi, 64(DX); \
	ADDQ    R8, DX

// ZDACCUM writes one row with beta (in Z1): C = acc + beta·C.
#define ZDACCUM(lo, hi) \
	VFMADD231PD (DX), Z1, lo;   \
	VFMADD231PD 64(DX), Z1, hi; \
	VMOVUPD     lo, (DX);       \
	VMOVUPD     hi, 64(DX);     \
	ADDQ        R8, DX

// func dkernel6x16(k int, a, b []float64, ldb int, c []float64, ldc int, alpha, beta float64)
TEXT ·dkernel6x16(SB), NOSPLIT, $0-112
	MOVQ k+0(FP), CX
	MOVQ a_base+8(FP), SI
	MOVQ b_base+32(FP), DI
	MOVQ ldb+56(FP), R9
	SHLQ $3, R9                 // ldb in bytes: the step from one B row to the next
	MOVQ c_base+64(FP), DX
	MOVQ ldc+88(FP), R8
	SHLQ $3, R8                 // ldc in bytes

	// Zero the accumulators.
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	VPXORQ Z10, Z10, Z10
	VPXORQ Z11, Z11, Z11
	VPXORQ Z12, Z12, Z12
	VPXORQ Z13, Z13, Z13
	VPXORQ Z14, Z14, Z14
	VPXORQ Z15, Z15, Z15

	// Pull the C tile towards L1 while the k loop runs.
	MOVQ DX, AX
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC

	MOVQ  CX, BX
	SHRQ  $2, BX                // BX = k/4 iterations of 4 steps
	ANDQ  $3, CX                // CX = k%4 single steps
	TESTQ BX, BX
	JZ    dtail

dloop4:
	ZDSTEP(0)
	ADDQ R9, DI                 // next B row
	ZDSTEP(48)
	ADDQ R9, DI
	ZDSTEP(96)
	ADDQ R9, DI
	ZDSTEP(144)
	ADDQ R9, DI
	ADDQ $192, SI               // 4 steps × 6 float64
	DECQ BX
	JNZ  dloop4

dtail:
	TESTQ CX, CX
	JZ    dwrite

dloop1:
	ZDSTEP(0)
	ADDQ $48, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  dloop1

dwrite:
	// acc *= alpha
	VBROADCASTSD alpha+96(FP), Z0
	VMULPD Z0, Z4, Z4
	VMULPD Z0, Z5, Z5
	VMULPD Z0, Z6, Z6
	VMULPD Z0, Z7, Z7
	VMULPD Z0, Z8, Z8
	VMULPD Z0, Z9, Z9
	VMULPD Z0, Z10, Z10
	VMULPD Z0, Z11, Z11
	VMULPD Z0, Z12, Z12
	VMULPD Z0, Z13, Z13
	VMULPD Z0, Z14, Z14
	VMULPD Z0, Z15, Z15

	// beta == 0 (ordered compare: a NaN beta takes the beta path) stores
	// without reading C.
	VMOVSD   beta+104(FP), X1
	VXORPD   X2, X2, X2
	VUCOMISD X2, X1
	JNE      daccum
	JPS      daccum             // unordered: beta is NaN

	ZDSTORE(Z4, Z5)
	ZDSTORE(Z6, Z7)
	ZDSTORE(Z8, Z9)
	ZDSTORE(Z10, Z11)
	ZDSTORE(Z12, Z13)
	ZDSTORE(Z14, Z15)
	VZEROUPPER
	RET

daccum:
	VBROADCASTSD beta+104(FP), Z1
	ZDACCUM(Z4, Z5)
	ZDACCUM(Z6, Z7)
	ZDACCUM(Z8, Z9)
	ZDACCUM(Z10, Z11)
	ZDACCUM(Z12, Z13)
	ZDACCUM(Z14, Z15)
	VZEROUPPER
	RET

// ZSSTEP is ZDSTEP for float32: 32 columns, 4-byte elements.
#define ZSSTEP(ao) \
	VMOVUPS      (DI), Z0;         \
	VMOVUPS      64(DI), Z1;       \
	VBROADCASTSS (ao)(SI), Z2;     \
	VFMADD231PS  Z0, Z2, Z4;       \
	VFMADD231PS  Z1, Z2, Z5;       \
	VBROADCASTSS (ao+4)(SI), Z3;   \
	VFMADD231PS  Z0, Z3, Z6;       \
	VFMADD231PS  Z1, Z3, Z7;       \
	VBROADCASTSS (ao+8)(SI), Z2;   \
	VFMADD231PS  Z0, Z2, Z8;       \
	VFMADD231PS  Z1, Z2, Z9;       \
	VBROADCASTSS (ao+12)(SI), Z3;  \
	VFMADD231PS  Z0, Z3, Z10;      \
	VFMADD231PS  Z1, Z3, Z11;      \
	VBROADCASTSS (ao+16)(SI), Z2;  \
	VFMADD231PS  Z0, Z2, Z12;      \
	VFMADD231PS  Z1, Z2, Z13;      \
	VBROADCASTSS (ao+20)(SI), Z3;  \
	VFMADD231PS  Z0, Z3, Z14;      \
	VFMADD231PS  Z1, Z3, Z15

#define ZSSTORE(lo, hi) \
	VMOVUPS lo, (DX);   \
	VMOVUPS hi, 64(DX); \
	ADDQ    R8, DX

#define ZSACCUM(lo, hi) \
	VFMADD231PS (DX), Z1, lo;   \
	VFMADD231PS 64(DX), Z1, hi; \
	VMOVUPS     lo, (DX);       \
	VMOVUPS     hi, 64(DX);     \
	ADDQ        R8, DX

// func skernel6x32(k int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32)
TEXT ·skernel6x32(SB), NOSPLIT, $0-104
	MOVQ k+0(FP), CX
	MOVQ a_base+8(FP), SI
	MOVQ b_base+32(FP), DI
	MOVQ ldb+56(FP), R9
	SHLQ $2, R9                 // ldb in bytes
	MOVQ c_base+64(FP), DX
	MOVQ ldc+88(FP), R8
	SHLQ $2, R8                 // ldc in bytes

	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

	MOVQ DX, AX
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC

	MOVQ  CX, BX
	SHRQ  $2, BX
	ANDQ  $3, CX
	TESTQ BX, BX
	JZ    stail

sloop4:
	ZSSTEP(0)
	ADDQ R9, DI                 // next B row
	ZSSTEP(24)
	ADDQ R9, DI
	ZSSTEP(48)
	ADDQ R9, DI
	ZSSTEP(72)
	ADDQ R9, DI
	ADDQ $96, SI                // 4 steps × 6 float32
	DECQ BX
	JNZ  sloop4

stail:
	TESTQ CX, CX
	JZ    swrite

sloop1:
	ZSSTEP(0)
	ADDQ $24, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  sloop1

swrite:
	VBROADCASTSS alpha+96(FP), Z0
	VMULPS Z0, Z4, Z4
	VMULPS Z0, Z5, Z5
	VMULPS Z0, Z6, Z6
	VMULPS Z0, Z7, Z7
	VMULPS Z0, Z8, Z8
	VMULPS Z0, Z9, Z9
	VMULPS Z0, Z10, Z10
	VMULPS Z0, Z11, Z11
	VMULPS Z0, Z12, Z12
	VMULPS Z0, Z13, Z13
	VMULPS Z0, Z14, Z14
	VMULPS Z0, Z15, Z15

	VMOVSS   beta+100(FP), X1
	VXORPS   X2, X2, X2
	VUCOMISS X2, X1
	JNE      saccum
	JPS      saccum

	ZSSTORE(Z4, Z5)
	ZSSTORE(Z6, Z7)
	ZSSTORE(Z8, Z9)
	ZSSTORE(Z10, Z11)
	ZSSTORE(Z12, Z13)
	ZSSTORE(Z14, Z15)
	VZEROUPPER
	RET

saccum:
	VBROADCASTSS beta+100(FP), Z1
	ZSACCUM(Z4, Z5)
	ZSACCUM(Z6, Z7)
	ZSACCUM(Z8, Z9)
	ZSACCUM(Z10, Z11)
	ZSACCUM(Z12, Z13)
	ZSACCUM(Z14, Z15)
	VZEROUPPER
	RET

