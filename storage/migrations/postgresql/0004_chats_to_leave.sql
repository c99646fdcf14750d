-- Private chats the bot must leave because their parent was erased while no
-- platform was connected (an operator's `admin erase-family`). The running
-- service leaves each one, then forgets it.
CREATE TABLE chats_to_leave (
    platform  TEXT NOT NULL,
    chat_id   TEXT NOT NULL,
    PRIMARY KEY (platform, chat_id)
);
