import Seq2Seq
print("seq2seq")
