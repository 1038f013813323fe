/// The ten ImageWoof classes (../shared/README.md), in label order: their WordNet ids (the
/// dataset's folder names), names, short caption names and ImageNet-1k class indices. The
/// one place these facts live.
public enum ImageWoof {
    public struct Breed: Sendable {
        public let wnid: String
        public let name: String
        /// For figure captions, where space is short.
        public let shortName: String
        /// The class's index among ImageNet-1k's 1000 (the pretrained head's row).
        public let imageNetIndex: Int
    }

    public static let breeds: [Breed] = [
        Breed(wnid: "n02086240", name: "Shih-Tzu", shortName: "Shih-Tzu", imageNetIndex: 155),
        Breed(wnid: "n02087394", name: "Rhodesian ridgeback", shortName: "ridgeback", imageNetIndex: 159),
        Breed(wnid: "n02088364", name: "beagle", shortName: "beagle", imageNetIndex: 162),
        Breed(wnid: "n02089973", name: "English foxhound", shortName: "foxhound", imageNetIndex: 167),
        Breed(wnid: "n02093754", name: "Border terrier", shortName: "Border terrier", imageNetIndex: 182),
        Breed(wnid: "n02096294", name: "Australian terrier", shortName: "Austr. terrier", imageNetIndex: 193),
        Breed(wnid: "n02099601", name: "golden retriever", shortName: "golden retr.", imageNetIndex: 207),
        Breed(wnid: "n02105641", name: "Old English sheepdog", shortName: "OE sheepdog", imageNetIndex: 229),
        Breed(wnid: "n02111889", name: "Samoyed", shortName: "Samoyed", imageNetIndex: 258),
        Breed(wnid: "n02115641", name: "dingo", shortName: "dingo", imageNetIndex: 273),
    ]

    /// ImageNet-1k indices of the ten classes in label order (`--zero-shot`, `--head-init imagenet`).
    public static let imageNetIndices: [Int] = breeds.map(\.imageNetIndex)

    /// The breed of a folder name, nil for a folder that is not an ImageWoof class.
    public static func breed(wnid: String) -> Breed? { breeds.first { $0.wnid == wnid } }

    /// Human names of `wnids`; a folder that is not an ImageWoof class keeps its own name.
    public static func names(_ wnids: [String]) -> [String] { wnids.map { breed(wnid: $0)?.name ?? $0 } }
}
