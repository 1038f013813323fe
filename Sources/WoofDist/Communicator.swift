import Foundation
import CMPI

/// The MPI world: rank, size and the collectives the trainer needs, over OpenMPI.
///
/// A process started without `mpirun` is rank 0 of 1 (MPI initialises as a singleton), so
/// every code path is the same with and without MPI. Errors in MPI calls abort the whole
/// job (MPI's default handler), which is what a data-parallel step wants: a rank that
/// cannot take part must not leave the others waiting.
public final class Communicator {
    nonisolated(unsafe) private static var shared: Communicator?

    /// The world communicator, initialising MPI on first use.
    public static var world: Communicator {
        if let c = shared { return c }
        let c = Communicator()
        shared = c
        return c
    }

    public let rank: Int
    public let size: Int
    /// Ranks on this node (OpenMPI sets OMPI_COMM_WORLD_LOCAL_SIZE under mpirun).
    public let localSize: Int
    public var isRoot: Bool { rank == 0 }
    let comm: MPI_Comm

    private init() {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            MPI_Init_thread(nil, nil, woof_mpi_thread_funneled(), &provided)
        }
        comm = woof_mpi_comm_world()
        var r: Int32 = 0, n: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &n)
        rank = Int(r); size = Int(n)
        localSize = Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1
    }

    /// In-place float sum over all ranks (blocking).
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        _ = CollectiveWatchdog.waiting { MPI_Allreduce(woof_mpi_in_place(), buffer, Int32(count), woof_mpi_float(), woof_mpi_sum(), comm) }
    }

    /// Sums doubles over all ranks.
    public func allreduceSum(_ values: [Double]) -> [Double] {
        var v = values
        v.withUnsafeMutableBufferPointer {
            let p = $0.baseAddress, n = Int32($0.count)
            _ = CollectiveWatchdog.waiting { MPI_Allreduce(woof_mpi_in_place(), p, n, woof_mpi_double(), woof_mpi_sum(), comm) }
        }
        return v
    }

    /// Sums 64-bit integers over all ranks.
    public func allreduceSum(_ values: [Int64]) -> [Int64] {
        var v = values
        v.withUnsafeMutableBufferPointer {
            let p = $0.baseAddress, n = Int32($0.count)
            _ = CollectiveWatchdog.waiting { MPI_Allreduce(woof_mpi_in_place(), p, n, woof_mpi_int64(), woof_mpi_sum(), comm) }
        }
        return v
    }

    /// Every rank's process: its host and pid, in rank order (for naming a rank that stopped
    /// answering; see `CollectiveWatchdog`).
    public func processes() -> [RankProcess] {
        let width = 2 + RankProcess.hostSlots
        var slots = [Int64](repeating: 0, count: width * size)
        let me = RankProcess.current(rank: rank)
        slots[width * rank] = me.hostKey
        slots[width * rank + 1] = Int64(me.pid)
        slots.replaceSubrange(width * rank + 2 ..< width * (rank + 1), with: RankProcess.packHost(me.host))
        let all = allreduceSum(slots)
        return (0..<size).map {
            RankProcess(rank: $0, hostKey: all[width * $0], pid: Int32(truncatingIfNeeded: all[width * $0 + 1]),
                        host: RankProcess.unpackHost(all[(width * $0 + 2) ..< width * ($0 + 1)]))
        }
    }

    /// (minimum, maximum) of a 64-bit value over all ranks.
    public func minMax(_ value: UInt64) -> (UInt64, UInt64) {
        var lo = value, hi = value
        _ = CollectiveWatchdog.waiting { MPI_Allreduce(woof_mpi_in_place(), &lo, 1, woof_mpi_uint64(), woof_mpi_min(), comm) }
        _ = CollectiveWatchdog.waiting { MPI_Allreduce(woof_mpi_in_place(), &hi, 1, woof_mpi_uint64(), woof_mpi_max(), comm) }
        return (lo, hi)
    }

    /// Copies `count` floats from `root` to every rank.
    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int = 0) {
        var done = 0
        // MPI counts are 32-bit: send in chunks.
        while done < count {
            let n = min(count - done, 1 << 30)
            let p = buffer + done
            _ = CollectiveWatchdog.waiting { MPI_Bcast(p, Int32(n), woof_mpi_float(), Int32(root), comm) }
            done += n
        }
    }

    /// Starts an in-place float sum; finish it with `wait`.
    public func startAllreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) -> MPI_Request? {
        var request: MPI_Request? = woof_mpi_request_null()
        MPI_Iallreduce(woof_mpi_in_place(), buffer, Int32(count), woof_mpi_float(), woof_mpi_sum(), comm, &request)
        return request
    }

    /// Lets outstanding non-blocking collectives progress (OpenMPI advances them only
    /// inside MPI calls).
    public func progress(_ requests: inout [MPI_Request?]) {
        guard !requests.isEmpty else { return }
        var flag: Int32 = 0
        requests.withUnsafeMutableBufferPointer {
            _ = MPI_Testall(Int32($0.count), $0.baseAddress, &flag, woof_mpi_statuses_ignore())
        }
    }

    public func wait(_ requests: inout [MPI_Request?]) {
        guard !requests.isEmpty else { return }
        requests.withUnsafeMutableBufferPointer {
            let p = $0.baseAddress, n = Int32($0.count)
            _ = CollectiveWatchdog.waiting { MPI_Waitall(n, p, woof_mpi_statuses_ignore()) }
        }
        requests.removeAll(keepingCapacity: true)
    }

    public func barrier() { _ = CollectiveWatchdog.waiting { MPI_Barrier(comm) } }

    /// Ends every rank of the job with `code` (after this rank reported why).
    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }

    public func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }
}
