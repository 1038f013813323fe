import Foundation
import WoofIO
import WoofTrain

/// `grid.json` beside the attention maps: which image and model every file shows, with the
/// class and each model's prediction, so that the paper and the HTML report set the captions
/// as text (the images carry none).
public struct AttentionGrid: Codable, Equatable {
    public static let formatVersion = 1
    public static let fileName = "grid.json"

    public struct Model: Codable, Equatable {
        /// Short name used in file names and CSVs (`pretrained`, `full_model`, `lora_model`).
        public var slug: String
        /// Name shown to people (`original ViT`, `full FT`, `LoRA`).
        public var label: String
        public var path: String
    }

    /// One model's maps of one image.
    public struct Cell: Codable, Equatable {
        public var model: String
        /// The mean-head map over the crop: the grid's tile (JPEG, relative to grid.json).
        public var map: String
        /// Every view side by side (PNG): see `AttentionGrid.panelCaptions`.
        public var panels: String
        /// The ten-way prediction: its wnid (or "class N") and the caption-sized name.
        public var predictedClass: String
        public var predictedName: String
        /// nil when the image's folder is not a class.
        public var correct: Bool?
        /// Patches of the thresholded mean map, and the attention mass they keep.
        public var maskPatches: Int
        public var maskMass: Double
        /// Other single maps over the crop by explanation (`rollout`, `gt`, `pred`: the
        /// gradient-weighted relevance for the true / predicted class); absent in older grids.
        public var views: [String: String]? = nil
    }

    public struct Image: Codable, Equatable {
        public var source: String
        public var wnid: String?
        /// The caption-sized class name ("?" when the folder is not a class).
        public var className: String
        /// The model's 224 crop (JPEG, relative to grid.json).
        public var crop: String
        public var cells: [Cell]
    }

    public var version = AttentionGrid.formatVersion
    /// What the maps show, for captions.
    public var method: String
    /// Captions of the panels in each cell's `panels` image, left to right.
    public var panelCaptions: [String]
    /// Fraction of the attention mass the DINO mask keeps.
    public var threshold: Double
    public var models: [Model]
    public var images: [Image]

    /// Reads `dir/grid.json`, naming the file and the stage that makes it on failure.
    public static func read(dir: String, missing: String) throws -> AttentionGrid {
        let grid = try JSONFile.read(AttentionGrid.self, from: dir + "/" + fileName, missing: missing)
        guard grid.version == formatVersion else {
            throw TrainError.io("\(dir)/\(fileName): format version \(grid.version), this program reads \(formatVersion) (\(missing))")
        }
        return grid
    }

    /// The first image of each class, in grid order (the paper's figure).
    public func firstPerClass() -> [Image] {
        var seen = Set<String>()
        return images.filter { im in im.wnid.map { seen.insert($0).inserted } ?? false }
    }
}
