import Foundation
import WoofCore
import WoofData
import WoofDist
import WoofIO

/// The last epoch's evaluation of a run, written as the run's per-image val predictions
/// (`val_predictions.csv`, `val_eval.json`, `val_eval.txt`: what `woof-dist eval` writes),
/// so the pipeline does not evaluate each fine-tuned model a second time.
public enum FinalEvaluation {
    /// Every rank's per-image predictions, in the dataset's order. Under MPI each rank holds
    /// its shard's; they are summed into one table (label + 1 and prediction + 1 per image,
    /// zero where a rank did not see the image).
    static func gathered(_ result: EvalResult, dataset: ImageFolder, comm: Communicator) -> EvalResult {
        let index = Dictionary(uniqueKeysWithValues: dataset.samples.enumerated().map { ($1.relativePath, $0) })
        var table = [Int64](repeating: 0, count: 2 * dataset.count)
        for p in result.predictions {
            guard let i = index[p.path] else { continue }
            table[2 * i] = Int64(p.label + 1); table[2 * i + 1] = Int64(p.pred + 1)
        }
        if comm.size > 1 { table = comm.allreduceSum(table) }
        var out = result
        out.predictions = dataset.samples.indices.compactMap { i in
            table[2 * i] > 0 ? .init(path: dataset.samples[i].relativePath, label: Int(table[2 * i] - 1), pred: Int(table[2 * i + 1] - 1)) : nil
        }
        return out
    }

    /// Writes the three files into `dir` (rank 0 only) for the model at `dir/model.safetensors`.
    public static func write(_ result: EvalResult, dataset: ImageFolder, to dir: String, comm: Communicator) throws {
        let all = gathered(result, dataset: dataset, comm: comm)
        guard comm.isRoot else { return }
        let names = ImageWoof.names(dataset.classes)
        try all.writePredictions(to: dir + "/val_predictions.csv")
        try JSONFile.write(EvalSummary(all, weights: dir + "/model.safetensors", zeroShot: false, classNames: names),
                           to: dir + "/val_eval.json")
        try AtomicFile.write(Data(all.table(classNames: names).utf8), to: dir + "/val_eval.txt")
    }
}
