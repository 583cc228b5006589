import Basics

/// The terminal progress line is where runs report progress on the command line.
extension ProgressLine: ProgressSink {}
