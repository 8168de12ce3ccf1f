// DecodingSession's admission and retirement: queued sentences joining the live rows, cancelled ones leaving.

extension DecodingSession {
    /// Removes the rows of cancelled live sentences (keeping the others contiguous and in order).
    func retireCancelled() {
        var any = false
        for i in live.indices where live[i].cancelled { any = true; break }
        guard any else { return }
        var next = 0
        var keep = 0
        for i in live.indices {
            let s = live[i]
            if s.cancelled {
                reservedRows -= s.width
                freeSlots.append(s.slot)
                continue
            }
            let first = next
            for r in s.rowStart..<(s.rowStart + s.rows) {
                parents[next] = r
                nextScore[next] = score[r]
                next += 1
            }
            s.rowStart = first
            live[keep] = s
            keep += 1
        }
        live.removeLast(live.count - keep)
        state.gather(parents, count: next)
        swap(&score, &nextScore)
    }

    /// Admits queued sentences (in order) while their rows fit, encodes them together and appends their
    /// initial rows (the bridge's state; one per sample when sampling) after the live ones.
    func admit() {
        newcomers.removeAll(keepingCapacity: true)
        lastAdmitted.removeAll(keepingCapacity: true)
        stepCount += 1
        let waiting = pending.count - pendingHead
        if waiting > 0 && !live.isEmpty && waiting < min(minAdmission, maxRows - reservedRows)
            && stepCount - pending[pendingHead].queuedAt <= maxAdmissionWait {
            return  // wait for companions to encode with
        }
        while pendingHead < pending.count {
            let s = pending[pendingHead]
            guard reservedRows + s.width <= maxRows, let slot = freeSlots.popLast() else { break }
            s.slot = slot
            reservedRows += s.width
            newcomers.append(s)
            pendingHead += 1
        }
        guard !newcomers.isEmpty else { return }
        // Forget the admitted (the queue would otherwise keep every admitted sentence, and its history, alive
        // for as long as the queue never empties).
        pending.removeSubrange(0..<pendingHead)
        pendingHead = 0
        // Encode longest first (the encoder's requirement), then copy into the pool slots.
        newcomers.sort { $0.source.count != $1.source.count ? $0.source.count > $1.source.count : $0.id < $1.id }
        scratch.reset()
        let encoded = engine.encode(newcomers.map(\.source), arena: scratch)
        var fresh = DecoderState(engine: engine, encoded: encoded, capacity: newcomers.count, arena: scratch)
        fresh.start(engine: engine, encoded: encoded)
        var R = live.last.map { $0.rowStart + $0.rows } ?? 0
        let bos = model.config.specialTokens.bos
        for (n, s) in newcomers.enumerated() {
            let p = s.slot, len = encoded.lengths[n]
            let to = pool.offsets[p], from = encoded.offsets[n]
            pool.lengths[p] = len
            for j in 0..<len { pool.bank.row(to + j).update(from: encoded.bank.row(from + j), count: pool.bank.cols) }
            if state.keys.rows > 0 {
                for j in 0..<len { state.keys.row(to + j).update(from: fresh.keys.row(from + j), count: state.keys.cols) }
            }
            if state.fixedInput.rows > 0 { state.fixedInput.row(p).update(from: fresh.fixedInput.row(n), count: state.fixedInput.cols) }
            let rows = s.admitted(rowStart: R, config: model.config)
            for r in R..<(R + rows) {
                for k in state.h.indices { state.h[k].row(r).update(from: fresh.h[k].row(n), count: state.h[k].cols) }
                for k in state.c.indices { state.c[k].row(r).update(from: fresh.c[k].row(n), count: state.c[k].cols) }
                if state.hTilde.rows > 0 { state.hTilde.row(r).update(repeating: 0, count: state.hTilde.cols) }
                state.rowSlot[r] = p
                state.prevToken[r] = bos
                score[r] = 0
            }
            live.append(s)
            lastAdmitted.append(s.id)
            R += rows
        }
    }
}
