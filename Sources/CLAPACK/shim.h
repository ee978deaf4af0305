// OpenBLAS (Debian libopenblas-dev): cblas plus the LAPACK routines it exports with the Fortran ABI.
// There is no lapack.h in this build (NO_LAPACKE), so the Fortran prototypes used are declared here:
// every argument by pointer, and the hidden lengths of character arguments appended at the end
// (gfortran's convention; LAPACKE passes them the same way).
#include <stddef.h>
#include <cblas.h>

// Eigenvalues (ascending) and, with jobz = 'V', eigenvectors of a real symmetric matrix (divide and conquer).
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t uplo_len);

// Solves A X = B for a symmetric positive-definite A by Cholesky factorisation.
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda, double *b,
            const int *ldb, int *info, size_t uplo_len);
