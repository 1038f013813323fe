// The data pipeline tests land with the data pipeline.
import XCTest
