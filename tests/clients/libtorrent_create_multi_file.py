import sys, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
fs = lt.file_storage()
lt.add_files(fs, sys.argv[1])
ct = lt.create_torrent(fs, 32768, flags=int(sys.argv[3]))
lt.set_piece_hashes(ct, sys.argv[2])
sys.stdout.write(lt.bencode(ct.generate()).hex())
