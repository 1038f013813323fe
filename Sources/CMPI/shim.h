// OpenMPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, ...) are macros
// over addresses of global structs, which Swift cannot import; these inline functions
// hand them to Swift as ordinary values.
#include <mpi.h>

static inline MPI_Comm woof_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype woof_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype woof_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype woof_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype woof_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype woof_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op woof_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op woof_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op woof_mpi_min(void) { return MPI_MIN; }
static inline void *woof_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request woof_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *woof_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Errhandler woof_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int woof_mpi_success(void) { return MPI_SUCCESS; }
static inline int woof_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline MPI_Status *woof_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
