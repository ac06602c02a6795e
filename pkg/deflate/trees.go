package deflate

// This file is a port of the Huffman coding shared by GNU gzip's trees.c
// and zlib's trees.c (zlib's was derived from gzip's; for the default
// strategy they choose and encode blocks the same way). Names follow the C
// sources so the two can be read side by side.

const (
	maxBits     = 15
	maxBLBits   = 7
	lengthCodes = 29
	literals    = 256
	endBlock    = 256
	lCodes      = literals + 1 + lengthCodes
	dCodes      = 30
	blCodes     = 19
	heapSize    = 2*lCodes + 1
	minMatch    = 3
	maxMatch    = 258
	rep3to6     = 16
	repz3to10   = 17
	repz11to138 = 18

	storedBlock = 0
	staticTrees = 1
	dynTrees    = 2
)

var (
	extraLBits  = [lengthCodes]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	extraDBits  = [dCodes]int{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	extraBLBits = [blCodes]int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7}
	blOrder     = [blCodes]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// ctData is one tree node: freq or code, and dad or len.
type ctData struct {
	fc uint16 // Freq / Code
	dl uint16 // Dad / Len
}

var (
	staticLtree [lCodes + 2]ctData
	staticDtree [dCodes]ctData
	distCode    [512]uint8
	lengthCode  [maxMatch - minMatch + 1]uint8
	baseLength  [lengthCodes]int
	baseDist    [dCodes]int
)

func init() {
	length := 0
	code := 0
	for code = 0; code < lengthCodes-1; code++ {
		baseLength[code] = length
		for n := 0; n < 1<<extraLBits[code]; n++ {
			lengthCode[length] = uint8(code)
			length++
		}
	}
	lengthCode[length-1] = uint8(code)
	dist := 0
	for code = 0; code < 16; code++ {
		baseDist[code] = dist
		for n := 0; n < 1<<extraDBits[code]; n++ {
			distCode[dist] = uint8(code)
			dist++
		}
	}
	dist >>= 7
	for ; code < dCodes; code++ {
		baseDist[code] = dist << 7
		for n := 0; n < 1<<(extraDBits[code]-7); n++ {
			distCode[256+dist] = uint8(code)
			dist++
		}
	}
	var blCount [maxBits + 1]uint16
	n := 0
	for ; n <= 143; n++ {
		staticLtree[n].dl = 8
		blCount[8]++
	}
	for ; n <= 255; n++ {
		staticLtree[n].dl = 9
		blCount[9]++
	}
	for ; n <= 279; n++ {
		staticLtree[n].dl = 7
		blCount[7]++
	}
	for ; n <= 287; n++ {
		staticLtree[n].dl = 8
		blCount[8]++
	}
	genCodes(staticLtree[:], lCodes+1, &blCount)
	for n := 0; n < dCodes; n++ {
		staticDtree[n].dl = 5
		staticDtree[n].fc = uint16(biReverse(uint32(n), 5))
	}
}

func dCode(dist int) int {
	if dist < 256 {
		return int(distCode[dist])
	}
	return int(distCode[256+(dist>>7)])
}

func biReverse(code uint32, length int) uint32 {
	var res uint32
	for {
		res |= code & 1
		code >>= 1
		res <<= 1
		length--
		if length <= 0 {
			break
		}
	}
	return res >> 1
}

type treeDesc struct {
	dynTree    []ctData
	staticTree []ctData
	extraBits  []int
	extraBase  int
	elems      int
	maxLength  int
	maxCode    int
}

// trees holds the symbol buffer of the current block, the trees built for
// it and the bit writer.
type trees struct {
	dynLtree [heapSize]ctData
	dynDtree [2*dCodes + 1]ctData
	blTree   [2*blCodes + 1]ctData
	lDesc    treeDesc
	dDesc    treeDesc
	blDesc   treeDesc
	blCount  [maxBits + 1]uint16
	heap     [2*lCodes + 1]int
	heapLen  int
	heapMax  int
	depth    [2*lCodes + 1]uint8

	// syms holds dist<<8 | lc per symbol (dist 0: literal lc).
	syms     []uint32
	lastDist int // number of matches in syms

	optLen    uint64
	staticLen uint64

	// compressedLen is gzip's running bit count (trees.c compressed_len),
	// used for --rsyncable padding.
	compressedLen uint64

	bw bitWriter

	// blocks counts the blocks written (for identification reports).
	blocks int
}

func (s *trees) init(symCap int) {
	s.lDesc = treeDesc{dynTree: s.dynLtree[:], staticTree: staticLtree[:], extraBits: extraLBits[:], extraBase: literals + 1, elems: lCodes, maxLength: maxBits}
	s.dDesc = treeDesc{dynTree: s.dynDtree[:], staticTree: staticDtree[:], extraBits: extraDBits[:], elems: dCodes, maxLength: maxBits}
	s.blDesc = treeDesc{dynTree: s.blTree[:], extraBits: extraBLBits[:], elems: blCodes, maxLength: maxBLBits}
	s.syms = make([]uint32, 0, symCap)
	s.initBlock()
}

func (s *trees) initBlock() {
	for n := 0; n < lCodes; n++ {
		s.dynLtree[n].fc = 0
	}
	for n := 0; n < dCodes; n++ {
		s.dynDtree[n].fc = 0
	}
	for n := 0; n < blCodes; n++ {
		s.blTree[n].fc = 0
	}
	s.dynLtree[endBlock].fc = 1
	s.optLen, s.staticLen = 0, 0
	s.syms = s.syms[:0]
	s.lastDist = 0
}

// tallyLit records a literal.
func (s *trees) tallyLit(c byte) {
	s.syms = append(s.syms, uint32(c))
	s.dynLtree[c].fc++
}

// tallyDist records a match of length lc+MIN_MATCH at distance dist.
func (s *trees) tallyDist(dist, lc int) {
	s.syms = append(s.syms, uint32(dist)<<8|uint32(lc))
	dist--
	s.dynLtree[int(lengthCode[lc])+literals+1].fc++
	s.dynDtree[dCode(dist)].fc++
	s.lastDist++
}

func (s *trees) smaller(tree []ctData, n, m int) bool {
	return tree[n].fc < tree[m].fc || (tree[n].fc == tree[m].fc && s.depth[n] <= s.depth[m])
}

func (s *trees) pqdownheap(tree []ctData, k int) {
	v := s.heap[k]
	j := k << 1
	for j <= s.heapLen {
		if j < s.heapLen && s.smaller(tree, s.heap[j+1], s.heap[j]) {
			j++
		}
		if s.smaller(tree, v, s.heap[j]) {
			break
		}
		s.heap[k] = s.heap[j]
		k = j
		j <<= 1
	}
	s.heap[k] = v
}

func (s *trees) genBitlen(desc *treeDesc) {
	tree := desc.dynTree
	extra := desc.extraBits
	base := desc.extraBase
	maxCode := desc.maxCode
	maxLength := desc.maxLength
	stree := desc.staticTree
	overflow := 0
	for bits := 0; bits <= maxBits; bits++ {
		s.blCount[bits] = 0
	}
	tree[s.heap[s.heapMax]].dl = 0
	h := s.heapMax + 1
	for ; h < heapSize; h++ {
		n := s.heap[h]
		bits := int(tree[tree[n].dl].dl) + 1
		if bits > maxLength {
			bits = maxLength
			overflow++
		}
		tree[n].dl = uint16(bits)
		if n > maxCode {
			continue
		}
		s.blCount[bits]++
		xbits := 0
		if n >= base {
			xbits = extra[n-base]
		}
		f := uint64(tree[n].fc)
		s.optLen += f * uint64(bits+xbits)
		if stree != nil {
			s.staticLen += f * uint64(int(stree[n].dl)+xbits)
		}
	}
	if overflow == 0 {
		return
	}
	for {
		bits := maxLength - 1
		for s.blCount[bits] == 0 {
			bits--
		}
		s.blCount[bits]--
		s.blCount[bits+1] += 2
		s.blCount[maxLength]--
		overflow -= 2
		if overflow <= 0 {
			break
		}
	}
	for bits := maxLength; bits != 0; bits-- {
		n := int(s.blCount[bits])
		for n != 0 {
			h--
			m := s.heap[h]
			if m > maxCode {
				continue
			}
			if int(tree[m].dl) != bits {
				s.optLen += uint64((int64(bits) - int64(tree[m].dl)) * int64(tree[m].fc))
				tree[m].dl = uint16(bits)
			}
			n--
		}
	}
}

func genCodes(tree []ctData, maxCode int, blCount *[maxBits + 1]uint16) {
	var nextCode [maxBits + 1]uint16
	var code uint16
	for bits := 1; bits <= maxBits; bits++ {
		code = (code + blCount[bits-1]) << 1
		nextCode[bits] = code
	}
	for n := 0; n <= maxCode; n++ {
		l := int(tree[n].dl)
		if l == 0 {
			continue
		}
		tree[n].fc = uint16(biReverse(uint32(nextCode[l]), l))
		nextCode[l]++
	}
}

func (s *trees) buildTree(desc *treeDesc) {
	tree := desc.dynTree
	stree := desc.staticTree
	elems := desc.elems
	maxCode := -1
	node := elems
	s.heapLen, s.heapMax = 0, heapSize
	for n := 0; n < elems; n++ {
		if tree[n].fc != 0 {
			s.heapLen++
			s.heap[s.heapLen] = n
			maxCode = n
			s.depth[n] = 0
		} else {
			tree[n].dl = 0
		}
	}
	for s.heapLen < 2 {
		nw := 0
		if maxCode < 2 {
			maxCode++
			nw = maxCode
		}
		s.heapLen++
		s.heap[s.heapLen] = nw
		tree[nw].fc = 1
		s.depth[nw] = 0
		s.optLen--
		if stree != nil {
			s.staticLen -= uint64(stree[nw].dl)
		}
	}
	desc.maxCode = maxCode
	for n := s.heapLen / 2; n >= 1; n-- {
		s.pqdownheap(tree, n)
	}
	for {
		n := s.heap[1]
		s.heap[1] = s.heap[s.heapLen]
		s.heapLen--
		s.pqdownheap(tree, 1)
		m := s.heap[1]
		s.heapMax--
		s.heap[s.heapMax] = n
		s.heapMax--
		s.heap[s.heapMax] = m
		tree[node].fc = tree[n].fc + tree[m].fc
		d := s.depth[n]
		if s.depth[m] > d {
			d = s.depth[m]
		}
		s.depth[node] = d + 1
		tree[n].dl = uint16(node)
		tree[m].dl = uint16(node)
		s.heap[1] = node
		node++
		s.pqdownheap(tree, 1)
		if s.heapLen < 2 {
			break
		}
	}
	s.heapMax--
	s.heap[s.heapMax] = s.heap[1]
	s.genBitlen(desc)
	genCodes(tree, maxCode, &s.blCount)
}

func (s *trees) scanTree(tree []ctData, maxCode int) {
	prevlen := -1
	nextlen := int(tree[0].dl)
	count := 0
	maxCount, minCount := 7, 4
	if nextlen == 0 {
		maxCount, minCount = 138, 3
	}
	tree[maxCode+1].dl = 0xffff
	for n := 0; n <= maxCode; n++ {
		curlen := nextlen
		nextlen = int(tree[n+1].dl)
		count++
		if count < maxCount && curlen == nextlen {
			continue
		} else if count < minCount {
			s.blTree[curlen].fc += uint16(count)
		} else if curlen != 0 {
			if curlen != prevlen {
				s.blTree[curlen].fc++
			}
			s.blTree[rep3to6].fc++
		} else if count <= 10 {
			s.blTree[repz3to10].fc++
		} else {
			s.blTree[repz11to138].fc++
		}
		count = 0
		prevlen = curlen
		switch {
		case nextlen == 0:
			maxCount, minCount = 138, 3
		case curlen == nextlen:
			maxCount, minCount = 6, 3
		default:
			maxCount, minCount = 7, 4
		}
	}
}

func (s *trees) sendCode(c int, tree []ctData) {
	s.bw.sendBits(uint64(tree[c].fc), int(tree[c].dl))
}

func (s *trees) sendTree(tree []ctData, maxCode int) {
	prevlen := -1
	nextlen := int(tree[0].dl)
	count := 0
	maxCount, minCount := 7, 4
	if nextlen == 0 {
		maxCount, minCount = 138, 3
	}
	for n := 0; n <= maxCode; n++ {
		curlen := nextlen
		nextlen = int(tree[n+1].dl)
		count++
		if count < maxCount && curlen == nextlen {
			continue
		} else if count < minCount {
			for ; count != 0; count-- {
				s.sendCode(curlen, s.blTree[:])
			}
		} else if curlen != 0 {
			if curlen != prevlen {
				s.sendCode(curlen, s.blTree[:])
				count--
			}
			s.sendCode(rep3to6, s.blTree[:])
			s.bw.sendBits(uint64(count-3), 2)
		} else if count <= 10 {
			s.sendCode(repz3to10, s.blTree[:])
			s.bw.sendBits(uint64(count-3), 3)
		} else {
			s.sendCode(repz11to138, s.blTree[:])
			s.bw.sendBits(uint64(count-11), 7)
		}
		count = 0
		prevlen = curlen
		switch {
		case nextlen == 0:
			maxCount, minCount = 138, 3
		case curlen == nextlen:
			maxCount, minCount = 6, 3
		default:
			maxCount, minCount = 7, 4
		}
	}
}

func (s *trees) buildBLTree() int {
	s.scanTree(s.dynLtree[:], s.lDesc.maxCode)
	s.scanTree(s.dynDtree[:], s.dDesc.maxCode)
	s.buildTree(&s.blDesc)
	maxBLIndex := blCodes - 1
	for ; maxBLIndex >= 3; maxBLIndex-- {
		if s.blTree[blOrder[maxBLIndex]].dl != 0 {
			break
		}
	}
	s.optLen += 3*uint64(maxBLIndex+1) + 5 + 5 + 4
	return maxBLIndex
}

func (s *trees) sendAllTrees(lcodes, dcodes, blcodes int) {
	s.bw.sendBits(uint64(lcodes-257), 5)
	s.bw.sendBits(uint64(dcodes-1), 5)
	s.bw.sendBits(uint64(blcodes-4), 4)
	for rank := 0; rank < blcodes; rank++ {
		s.bw.sendBits(uint64(s.blTree[blOrder[rank]].dl), 3)
	}
	s.sendTree(s.dynLtree[:], lcodes-1)
	s.sendTree(s.dynDtree[:], dcodes-1)
}

func (s *trees) compressBlock(ltree, dtree []ctData) {
	for _, sym := range s.syms {
		dist := int(sym >> 8)
		lc := int(sym & 0xff)
		if dist == 0 {
			s.sendCode(lc, ltree)
			continue
		}
		code := int(lengthCode[lc])
		s.sendCode(code+literals+1, ltree)
		if extra := extraLBits[code]; extra != 0 {
			s.bw.sendBits(uint64(lc-baseLength[code]), extra)
		}
		dist--
		code = dCode(dist)
		s.sendCode(code, dtree)
		if extra := extraDBits[code]; extra != 0 {
			s.bw.sendBits(uint64(dist-baseDist[code]), extra)
		}
	}
	s.sendCode(endBlock, ltree)
}

// storedBlock writes a stored block header and buf.
func (s *trees) storedBlock(buf []byte, last bool) {
	s.bw.sendBits(uint64(storedBlock<<1+b2i(last)), 3)
	s.bw.windup()
	n := len(buf)
	s.bw.putShort(uint16(n))
	s.bw.putShort(^uint16(n))
	s.bw.putBytes(buf)
}

// flushBlock is trees.c flush_block/_tr_flush_block: it chooses a stored,
// static or dynamic block for the symbols tallied since the last block.
// buf is the block's input (nil if it already left the window), storedLen
// its length. forceStored is zlib's level 0.
func (s *trees) flushBlock(buf []byte, storedLen int, last, forceStored bool) {
	var optLenb, staticLenb uint64
	maxBLIndex := 0
	if !forceStored {
		s.buildTree(&s.lDesc)
		s.buildTree(&s.dDesc)
		maxBLIndex = s.buildBLTree()
		optLenb = (s.optLen + 3 + 7) >> 3
		staticLenb = (s.staticLen + 3 + 7) >> 3
		if staticLenb <= optLenb {
			optLenb = staticLenb
		}
	} else {
		optLenb = uint64(storedLen) + 5
		staticLenb = optLenb
	}
	switch {
	case uint64(storedLen)+4 <= optLenb && buf != nil:
		s.storedBlock(buf[:storedLen], last)
		s.compressedLen = (s.compressedLen + 3 + 7) &^ 7
		s.compressedLen += uint64(storedLen+4) << 3
	case staticLenb == optLenb:
		s.bw.sendBits(uint64(staticTrees<<1+b2i(last)), 3)
		s.compressBlock(staticLtree[:], staticDtree[:])
		s.compressedLen += 3 + s.staticLen
	default:
		s.bw.sendBits(uint64(dynTrees<<1+b2i(last)), 3)
		s.sendAllTrees(s.lDesc.maxCode+1, s.dDesc.maxCode+1, maxBLIndex+1)
		s.compressBlock(s.dynLtree[:], s.dynDtree[:])
		s.compressedLen += 3 + s.optLen
	}
	s.blocks++
	s.initBlock()
	if last {
		s.bw.windup()
		s.compressedLen += 7
	}
}

// padStored is gzip's --rsyncable padding after a block: an empty stored
// block when the output is not byte aligned by gzip's count.
func (s *trees) padStored() {
	if s.compressedLen%8 != 0 {
		s.bw.sendBits(storedBlock<<1, 3)
		s.compressedLen = (s.compressedLen + 3 + 7) &^ 7
		s.bw.windup()
		s.bw.putShort(0)
		s.bw.putShort(0xffff)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
