// The naive reference implementation: see Reference.swift.
import Seq2Seq
