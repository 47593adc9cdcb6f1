/* OpenBLAS's CBLAS interface and thread control, a vector multiply-add and a spin-wait hint, for the Swift engine. */
#include <cblas.h>

/* a * b + c on eight floats, for the engine's vector loops: C may contract it into one FMA (where the target CPU has
 * FMA), Swift never contracts a multiply and an add. Swift imports the vector type as SIMD8<Float>. */
#pragma STDC FP_CONTRACT ON
typedef float sg_float8 __attribute__((ext_vector_type(8)));
static inline sg_float8 sg_multiply_add8(sg_float8 a, sg_float8 b, sg_float8 c) { return a * b + c; }

/* The same on sixteen floats (SIMD16<Float>), for the packed GEMM's register tiles. */
typedef float sg_float16 __attribute__((ext_vector_type(16)));
static inline sg_float16 sg_multiply_add16(sg_float16 a, sg_float16 b, sg_float16 c) { return a * b + c; }

/* The square roots of sixteen floats in one vector instruction where the CPU has one (Swift's SIMD squareRoot takes
 * the lanes one at a time, through sqrtf). Exactly rounded, like the scalar square root. */
static inline sg_float16 sg_square_root16(sg_float16 a) { return __builtin_elementwise_sqrt(a); }

/* 1 when the engine is compiled for AVX-512 (32 vector registers of sixteen floats: room for the packed GEMM's 12x32
 * register tile), else 0. The compiler's -target-cpu decides it, as it decides the vector code of every other loop. */
#if defined(__AVX512F__)
#define SG_AVX512 1
#else
#define SG_AVX512 0
#endif

/* Tells the CPU that the calling thread is spinning on a memory location (x86 PAUSE, Arm YIELD). */
static inline void sg_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
