/* OpenBLAS's CBLAS interface and thread control, for the Swift engine. */
#include <cblas.h>
