import Foundation
import WoofDist
import WoofIO

/// Ranks started with different settings (an MPMD command line, a stale script on one node)
/// would train on other data or hyper-parameters, or wait forever in a collective. At start,
/// every rank compares its effective settings with rank 0's, and on a mismatch all of them
/// stop, naming the first setting that differs and the ranks that differ.
enum RankAgreement {
    /// The settings every rank must share, as (option, value). Paths may differ between
    /// nodes (the fingerprints compare the files), and so may thread counts.
    static func settings(_ config: TrainConfig) -> [(option: String, value: String)] {
        var c = config
        c.out = ""; c.data = ""; c.weights = ""; c.threads = 0; c.loaderWorkers = 0
        return c.options
    }

    /// A value's hash, shifted to stay positive so a sum of one term is exact.
    static func hash(_ s: String) -> Int64 { Int64(Fingerprint.hash(s) >> 2) }

    /// Throws on every rank when any rank's settings differ from rank 0's.
    static func check(_ config: TrainConfig, comm: Communicator) throws {
        guard comm.size > 1 else { return }
        let mine = settings(config), hashes = mine.map { hash($0.value) }
        let rootHashes = comm.allreduceSum(comm.isRoot ? hashes : [Int64](repeating: 0, count: hashes.count))
        let firstDiffering = hashes.indices.first { hashes[$0] != rootHashes[$0] }
        var slots = [Int64](repeating: 0, count: comm.size)
        slots[comm.rank] = firstDiffering.map { Int64($0 + 1) } ?? 0
        let all = comm.allreduceSum(slots)
        let differing = all.indices.filter { all[$0] > 0 }
        guard let first = all.filter({ $0 > 0 }).min() else { return }
        let option = mine[Int(first) - 1].option
        let mineNote = firstDiffering == nil ? "" : "; this rank has \(option) \(mine[Int(first) - 1].value)"
        throw TrainError.invalidOption("ranks disagree on \(option): rank(s) \(differing.map(String.init).joined(separator: ", ")) were started with other settings than rank 0\(mineNote); start every rank with the same options")
    }
}
